// The suites that use Postgres.js (`@dsql/drizzle/postgres-js`) again, with every `postgres`
// import (@dsql/postgres's, drizzle-orm's, the tests') resolved to Postgres.js 3.4 (the
// `postgres-v3` alias), so the peer range `^3.4.0 || ^4.0.0` is tested at both majors:
// jest.config.cjs runs the devDependency `postgres` (4.x). `pnpm test` runs both.
const path = require('node:path');
const base = require('../../jest.preset.cjs')(__dirname);

// require('postgres-v3') resolves the CommonJS build (cjs/src/index.js); the tests run ESM (src/).
const dir = path.resolve(path.dirname(require.resolve('postgres-v3')), '..', '..');

module.exports = {
  ...base,
  displayName: `postgres.js ${require(path.join(dir, 'package.json')).version}`,
  moduleNameMapper: { '^postgres$': path.join(dir, 'src', 'index.js'), ...base.moduleNameMapper },
  testMatch: ['<rootDir>/test/{drivers,nested-transactions,migrate,postgres-js-idle-close,error-funnel}.int.test.ts'],
};
