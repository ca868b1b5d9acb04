/**
 * How `@dsql/core/browser` is built: core's own modules, with the few that need Node swapped for
 * browser-safe ones at bundle time (one map, used by tsup.browser.config.ts and by the browser tests; browserEntryOptions is the
 * browser entry's tsup options, @dsql/postgres's too).
 * Everything else — token caching and signing rules, endpoint parsing, option checks, errors,
 * redaction, retry, transactions — is the same source as the Node entry.
 */
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import type { Options } from 'tsup';

const src = fileURLToPath(new URL('./src/', import.meta.url));

/** Node built-in (or Node-only SDK module) → its browser stand-in in src/browser/. */
export const BROWSER_SWAPS: Readonly<Record<string, string>> = Object.freeze({
  'node:util': `${src}browser/node-util.ts`,
  'node:net': `${src}browser/node-net.ts`,
  'node:diagnostics_channel': `${src}browser/node-diagnostics-channel.ts`,
  'node:async_hooks': `${src}browser/node-async-hooks.ts`,
  // The SDK's credential chains read files, IMDS and processes: a page passes its own credentials.
  '@aws-sdk/credential-provider-ini': `${src}browser/sdk-credential-chain.ts`,
  '@aws-sdk/credential-provider-node': `${src}browser/sdk-credential-chain.ts`,
});

/** Core source file → its browser counterpart (matched on the importer's resolved path). */
const FILE_SWAPS: Readonly<Record<string, string>> = Object.freeze({
  [`${src}auth/sign-token.ts`]: `${src}browser/sign-token.ts`,
});

/**
 * The esbuild plugin that applies the swaps (and gives `process.env` an empty value). Any other
 * Node built-in reached from the entry fails the build (esbuild's platform 'browser' cannot resolve it), so nothing Node-only slips in.
 */
export function dsqlCoreBrowserSwaps(): Plugin {
  const names = Object.keys(BROWSER_SWAPS).map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  return {
    name: 'dsql-core-browser-swaps',
    setup(build) {
      // A page has no `process`: core's reads of `process.env` (AWS_REGION, AWS_ACCESS_KEY_ID…,
      // defaults a page never has) see an empty environment instead of throwing a ReferenceError.
      // (esbuild applies options a plugin sets up here.)
      build.initialOptions.define = { 'process.env': '{}', ...build.initialOptions.define };
      build.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({
        path: BROWSER_SWAPS[args.path]!,
      }));
      build.onResolve({ filter: /\/sign-token\.js$/ }, async (args) => {
        if (args.pluginData === 'dsql-swap') return undefined;
        const resolved = await build.resolve(args.path.replace(/\.js$/, '.ts'), {
          kind: args.kind,
          resolveDir: args.resolveDir,
          pluginData: 'dsql-swap',
        });
        const swap = FILE_SWAPS[resolved.path];
        return swap ? { path: swap } : undefined;
      });
    },
  };
}

/**
 * The tsup options of a package's browser entry (`src/browser.ts` → `dist/browser.{js,cjs}`),
 * shared by core's and @dsql/postgres's tsup.browser.config.ts: one self-contained file per
 * format for platform 'browser', its dependencies bundled in (`plugins` swap what needs Node, or
 * leave an import external), built after the Node build into the same dist/.
 *
 * @example
 * export default defineConfig(browserEntryOptions([dsqlCoreBrowserSwaps()]));
 */
export function browserEntryOptions(plugins: Plugin[], extra: Options = {}): Options {
  return {
    entry: { browser: 'src/browser.ts' },
    format: ['esm', 'cjs'],
    platform: 'browser',
    target: 'es2022',
    dts: true,
    sourcemap: false,
    // Built after tsup.config.ts, which cleans dist/.
    clean: false,
    // One file: its chunks must not share dist/ with the Node build's.
    splitting: false,
    noExternal: [/.*/],
    // Keep `node:` specifiers for the swaps to see (tsup would strip them and leave the import external).
    removeNodeProtocol: false,
    esbuildPlugins: plugins,
    ...extra,
  };
}
