// Kysely 0.29 moved the Migrator to `kysely/migration`; the suites import it from `kysely`, as
// 0.28 users do. This shim (used only by jest.kysely-next.config.cjs) offers both.
export * from '../../node_modules/kysely-next/dist/index.js';
export * from '../../node_modules/kysely-next/dist/migration/index.js';
