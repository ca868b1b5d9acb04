import { defineConfig } from 'tsup';
import { browserEntryOptions, dsqlCoreBrowserSwaps } from './browser-build.js';

// `@dsql/core/browser` (src/browser.ts): core's source with its Node-only modules swapped for
// browser-safe ones (browser-build.ts), and its dependencies (the SDK's signer, a pure-JavaScript
// SHA-256) bundled in, so a page's bundler meets no Node built-in and needs no configuration.
// Built after tsup.config.ts (which cleans dist/), into the same dist/.
export default defineConfig(browserEntryOptions([dsqlCoreBrowserSwaps()]));
