import { defineConfig } from 'tsup';

export default defineConfig({
  // `rules` is the `@dsql/core/rules` subpath: data and small functions, importable without the rest.
  entry: ['src/index.ts', 'src/rules.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  // No source maps: the published JavaScript is unminified and keeps its names, so stack traces
  // already read as the code; maps would double the tarball for nothing a user runs.
  sourcemap: false,
  clean: true,
  target: 'node20',
});
