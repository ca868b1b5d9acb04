import { defineConfig } from 'tsup';
// Core's browser entry options (one self-contained file per format, platform 'browser'), shared.
import { browserEntryOptions } from '../core/browser-build.js';
import { BROWSER_GLOBALS, dsqlPostgresBrowserPlugins } from './browser-build.js';

// `@dsql/postgres/browser` (src/browser.ts): Postgres.js bundled in with its Node built-ins
// replaced (browser-build.ts), `@dsql/core/browser` left an import. A page's bundler meets no
// Node built-in and needs no configuration. Built after tsup.config.ts (which cleans dist/).
export default defineConfig(async () => browserEntryOptions(await dsqlPostgresBrowserPlugins({ core: 'package' }), { inject: [BROWSER_GLOBALS] }));
