import { defineConfig } from 'tsup';
import { dsqlCoreBrowserSwaps } from './browser-build.js';

// `@dsql/core/browser` (src/browser.ts): core's source with its Node-only modules swapped for
// browser-safe ones (browser-build.mjs), and its dependencies (the SDK's signer, a pure-JavaScript
// SHA-256) bundled in, so a page's bundler meets no Node built-in and needs no configuration.
// Built after tsup.config.ts (which cleans dist/), into the same dist/.
export default defineConfig({
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
  esbuildPlugins: [dsqlCoreBrowserSwaps()],
});
