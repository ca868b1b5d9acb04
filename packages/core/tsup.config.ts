import { defineConfig } from 'tsup';

export default defineConfig({
  // `rules` is the `@dsql/core/rules` subpath: data and small functions, importable without the rest.
  // `migrations` is `@dsql/core/migrations`, the migration toolkit the ORM adapters stand on.
  // `lint` is `@dsql/core/lint`, the only entry that loads the SQL parser (libpg-query, an optional peer).
  entry: ['src/index.ts', 'src/rules.ts', 'src/migrations.ts', 'src/lint.ts'],
  // Shared modules go into chunks for CJS too (tsup splits only ESM by default): otherwise
  // `@dsql/core/migrations` would carry its own copy of core's classes and module state.
  splitting: true,
  format: ['esm', 'cjs'],
  dts: true,
  // No source maps: the published JavaScript is unminified and keeps its names, so stack traces
  // already read as the code; maps would double the tarball for nothing a user runs.
  sourcemap: false,
  clean: true,
  target: 'node20',
  // The SDK's SigV4 signer is bundled, tree-shaken, into the chunk `src/auth/sigv4.ts` makes (only
  // what a token needs; see that module): from the packages' ESM builds (`module` before `main`),
  // which esbuild can tree-shake. Every other dependency stays an import.
  // (Not `@smithy/core/event-streams`: named by a dynamic import() in protocols code the signer
  // never runs, tree-shaken away; bundled, esbuild would still make a chunk of it.)
  noExternal: ['@smithy/signature-v4', /^@smithy\/core(\/(?!event-streams)|$)/],
  // import.meta.url in the CommonJS build too (socket/pg-protocol.ts requires pg-protocol relative to the module).
  shims: true,
  esbuildOptions(options) {
    options.mainFields = ['module', 'main'];
  },
});
