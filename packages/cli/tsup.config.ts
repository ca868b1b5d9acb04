import { rm } from 'node:fs/promises';
import { defineConfig } from 'tsup';

export default defineConfig({
  // `cli.ts` is the `dsql` command (its shebang is kept); `index.ts` exports `runCli` for programs.
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: ['src/index.ts'] },
  // No source maps: the published JavaScript is unminified and keeps its names.
  sourcemap: false,
  clean: true,
  // import.meta.url (dsql local finds @dsql/local's script with it) in the CommonJS build too.
  shims: true,
  target: 'node20',
  // The bin is the ESM `dist/cli.js`: the CommonJS copy tsup builds of every entry is removed.
  onSuccess: async () => {
    await rm('dist/cli.cjs', { force: true });
  },
});
