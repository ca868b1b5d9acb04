/**
 * How `@dsql/postgres/browser` is built (tsup.browser.config.ts) and how the browser test bundles
 * its page: src/browser.ts with Postgres.js bundled in and its Node built-ins replaced by the
 * stand-ins in src/browser-shims/, the Node globals it reads (`Buffer`, `process`) injected where
 * named, and `@dsql/core` taken from its browser entry. Any other Node built-in reached fails the
 * build (esbuild's platform 'browser' cannot resolve it), so nothing Node-only slips in.
 */
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

const shims = fileURLToPath(new URL('./src/browser-shims/', import.meta.url));
/** Core's browser stand-ins (../core/src/browser/), which Postgres.js's `util` and `diagnostics_channel` share. */
const coreShims = fileURLToPath(new URL('../core/src/browser/', import.meta.url));

/**
 * Postgres.js's Node built-ins → browser stand-ins. Bare names, as Postgres.js imports them;
 * core's `node:` imports are core's own swaps (../core/browser-build.ts).
 */
export const POSTGRES_JS_SWAPS: Readonly<Record<string, string>> = Object.freeze({
  os: `${shims}os.ts`,
  fs: `${shims}fs.ts`,
  stream: `${shims}stream.ts`,
  crypto: `${shims}crypto.ts`,
  net: `${shims}net.ts`,
  tls: `${shims}net.ts`,
  util: `${coreShims}node-util.ts`,
  diagnostics_channel: `${coreShims}node-diagnostics-channel.ts`,
});

/** Where `Buffer` and `process` come from when the code names them (esbuild `inject`). */
export const BROWSER_GLOBALS = `${shims}globals.ts`;

/**
 * The esbuild plugins for a browser bundle of `@dsql/postgres/browser`.
 *
 * `core`: `'source'` takes `@dsql/core` from its source with the browser swaps (tests, a bundle of
 * everything); `'package'` leaves `@dsql/core/browser` an import (the published build, which
 * depends on it).
 */
export async function dsqlPostgresBrowserPlugins({ core }: { core: 'source' | 'package' }): Promise<Plugin[]> {
  const coreBrowser = fileURLToPath(new URL('../core/src/browser.ts', import.meta.url));
  const names = Object.keys(POSTGRES_JS_SWAPS).join('|');
  const plugin: Plugin = {
    name: 'dsql-postgres-browser',
    setup(build) {
      build.onResolve({ filter: new RegExp(`^(${names})$`) }, (args) => ({
        path: POSTGRES_JS_SWAPS[args.path]!,
      }));
      build.onResolve({ filter: /^@dsql\/core(\/browser)?$/ }, () =>
        core === 'source' ? { path: coreBrowser } : { path: '@dsql/core/browser', external: true },
      );
    },
  };
  if (core === 'package') return [plugin];
  // Core's own build helper, by URL: it is core's source, outside this package's TypeScript project.
  const coreBuild = new URL('../core/browser-build.ts', import.meta.url).href;
  const { dsqlCoreBrowserSwaps } = (await import(coreBuild)) as { dsqlCoreBrowserSwaps: () => Plugin };
  return [plugin, dsqlCoreBrowserSwaps()];
}
