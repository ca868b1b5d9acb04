import { defineConfig } from 'tsup';
import { BROWSER_GLOBALS, dsqlPostgresBrowserPlugins } from './browser-build.js';

// `@dsql/postgres/browser` (src/browser.ts): Postgres.js bundled in with its Node built-ins
// replaced (browser-build.ts), `@dsql/core/browser` left an import. A page's bundler meets no
// Node built-in and needs no configuration. Built after tsup.config.ts (which cleans dist/).
export default defineConfig(async () => ({
  entry: { browser: 'src/browser.ts' },
  format: ['esm', 'cjs'],
  platform: 'browser',
  target: 'es2022',
  dts: true,
  sourcemap: false,
  clean: false,
  // One file: its chunks must not share dist/ with the Node build's.
  splitting: false,
  noExternal: [/.*/],
  // Keep `node:` specifiers for the swaps to see (tsup would strip them and leave the import external).
  removeNodeProtocol: false,
  inject: [BROWSER_GLOBALS],
  esbuildPlugins: await dsqlPostgresBrowserPlugins({ core: 'package' }),
}));
