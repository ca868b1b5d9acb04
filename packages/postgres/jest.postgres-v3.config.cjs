// The whole suite again, with every `postgres` import (dsql()'s, the tests', Drizzle's and
// kysely-postgres-js's) resolved to Postgres.js 3.4 (installed as the `postgres-v3` alias), so
// the peer range `^3.4.0 || ^4.0.0` is tested at both majors: `jest.config.cjs` runs the
// devDependency `postgres` (4.x). `pnpm test` runs both.
const fs = require('node:fs');
const path = require('node:path');
const base = require('../../jest.preset.cjs')(__dirname);

// require('postgres-v3') resolves the CommonJS build (cjs/src/index.js); the tests run ESM (src/).
const dir = path.resolve(path.dirname(require.resolve('postgres-v3')), '..', '..');
const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));

module.exports = {
  ...base,
  displayName: `postgres.js ${version}`,
  moduleNameMapper: { '^postgres$': path.join(dir, 'src', 'index.js'), ...base.moduleNameMapper },
  // The browser entry bundles the devDependency Postgres.js (4.x) whichever `postgres` jest maps:
  // its Chromium test would run the same page twice.
  testPathIgnorePatterns: ['/node_modules/', '/test/browser\\.integration\\.test\\.ts$'],
  // The Postgres.js this run resolves `postgres` to: its version (test/postgres-js-versions.test.ts)
  // and its ESM entry (bundled into the child processes of test/server-closes.integration.test.ts).
  globals: { POSTGRES_JS_VERSION: version, POSTGRES_JS_ENTRY: path.join(dir, 'src', 'index.js') },
};
