// The whole suite again, with every `postgres` import (dsql()'s, the tests', Drizzle's and
// kysely-postgres-js's) resolved to Postgres.js 3.4 (installed as the `postgres-v3` alias), so
// the peer range `^3.4.0 || ^4.0.0` is tested at both majors: `jest.config.cjs` runs the
// devDependency `postgres` (4.x). `pnpm test` runs both.
const path = require('node:path');
const base = require('../../jest.preset.cjs')(__dirname);

// require('postgres-v3') resolves the CommonJS build (cjs/src/index.js); the tests run ESM (src/).
const v3 = path.resolve(path.dirname(require.resolve('postgres-v3')), '..', '..');

module.exports = {
  ...base,
  displayName: 'postgres.js 3',
  moduleNameMapper: { '^postgres$': path.join(v3, 'src', 'index.js'), ...base.moduleNameMapper },
};
