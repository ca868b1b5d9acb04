// The integration suites again, with every `kysely` import (the dialect's and the tests') resolved
// to the newest Kysely line (0.29, installed as the `kysely-next` alias; `test/compat/kysely-next.mjs` adds its `kysely/migration` exports), so the peer range
// `>=0.28 <0.30` is tested at both ends.
const path = require('node:path');
const base = require('../../jest.preset.cjs')(__dirname);

module.exports = {
  ...base,
  moduleNameMapper: { '^kysely$': path.join(__dirname, 'test/compat/kysely-next.mjs'), ...base.moduleNameMapper },
  testMatch: ['<rootDir>/test/{migrator,crud,schema,nested-transactions}.int.test.ts'],
};
