// Postgres.js 4 (the devDependency `postgres`); jest.postgres-v3.config.cjs runs the same suite on 3.4.
const fs = require('node:fs');
const path = require('node:path');

// require.resolve('postgres') is <package>/src/index.js (4.x exports no ./package.json).
const dir = path.resolve(path.dirname(require.resolve('postgres')), '..');
const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));

module.exports = {
  ...require('../../jest.preset.cjs')(__dirname),
  displayName: `postgres.js ${version}`,
  // The Postgres.js this run resolves `postgres` to: its version (test/postgres-js-versions.test.ts)
  // and its ESM entry (bundled into the child processes of test/server-closes.integration.test.ts).
  globals: { POSTGRES_JS_VERSION: version, POSTGRES_JS_ENTRY: require.resolve('postgres') },
};
