import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/app.ts', 'src/cli.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
});
