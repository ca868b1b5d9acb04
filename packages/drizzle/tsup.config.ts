import { rm } from 'node:fs/promises';
import { defineConfig } from 'tsup';

export default defineConfig({
  // `cli.ts` is the `dsql-drizzle` command (its shebang is kept); the others are the subpath exports.
  entry: ['src/index.ts', 'src/postgres-js.ts', 'src/migrator.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  // Types for the subpath exports only: the command has no importable API.
  dts: { entry: ['src/index.ts', 'src/postgres-js.ts', 'src/migrator.ts'] },
  // No source maps: the published JavaScript is unminified and keeps its names, so stack traces
  // already read as the code; maps would double the tarball for nothing a user runs.
  sourcemap: false,
  clean: true,
  target: 'node20',
  // The bin is the ESM `dist/cli.js`; tsup builds every entry in every format (the ESM build
  // shares its chunks with the library), so the unused CommonJS copy of the command is removed.
  onSuccess: async () => {
    await rm('dist/cli.cjs', { force: true });
  },
});
