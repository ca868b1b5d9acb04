import { defineConfig } from 'tsup';

export default defineConfig({
  // `cli.ts` is the `dsql-drizzle` command (its shebang is kept); the others are the subpath exports.
  entry: ['src/index.ts', 'src/postgres-js.ts', 'src/migrator.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
