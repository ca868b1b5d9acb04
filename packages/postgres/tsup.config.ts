import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  // No source maps: the published JavaScript is unminified and keeps its names, so stack traces
  // already read as the code; maps would double the tarball for nothing a user runs.
  sourcemap: false,
  clean: true,
  target: 'node20',
});
