/**
 * How `@dsql/core/browser` is built: core's own modules, with the few that need Node swapped for
 * browser-safe ones at bundle time (one map, used by tsup.browser.config.ts and by the browser tests).
 * Everything else — token caching and signing rules, endpoint parsing, option checks, errors,
 * redaction, retry, transactions — is the same source as the Node entry.
 */
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

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
 * The esbuild plugin that applies the swaps. Any other Node built-in reached from the entry
 * fails the build (esbuild's platform 'browser' cannot resolve it), so nothing Node-only slips in.
 */
export function dsqlCoreBrowserSwaps(): Plugin {
  const names = Object.keys(BROWSER_SWAPS).map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  return {
    name: 'dsql-core-browser-swaps',
    setup(build) {
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
