// The integration suites again, with every `kysely` import (the dialect's and the tests') resolved
// to the oldest Kysely line in the peer range (0.28, installed as the `kysely-v028` alias), so the
// range `>=0.28 <0.30` is tested at both ends. 0.28 exports its Migrator from `kysely` itself;
// the suites import it from `kysely/migration` as 0.29 wants, so both names map to 0.28's index.
const path = require('node:path');
const base = require('../../jest.preset.cjs')(__dirname);
const kysely028 = path.join(__dirname, 'node_modules/kysely-v028/dist/esm/index.js');

module.exports = {
  ...base,
  moduleNameMapper: { '^kysely$': kysely028, '^kysely/migration$': kysely028, ...base.moduleNameMapper },
  testMatch: ['<rootDir>/test/{migrator,crud,schema,nested-transactions}.int.test.ts'],
};
