import { defineConfig } from 'drizzle-kit';

// `pnpm generate` writes SQL migrations for src/schema.ts into ./drizzle (committed);
// `@dsql/drizzle/migrator`'s migrate() applies them on DSQL.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
});
