const path = require('node:path');
const preset = require('../../jest.preset.cjs');

module.exports = preset(__dirname, {
  testTimeout: 60_000,
  // One @dsql/local for every test file (see test/dsql-local.setup.mjs).
  globalSetup: '<rootDir>/test/dsql-local.setup.mjs',
  globalTeardown: '<rootDir>/test/dsql-local.teardown.mjs',
  // Named `example-pg` in the totals so it does not overwrite packages/pg's results.
  reporters: ['default', [path.join(__dirname, '../../scripts/jest-totals-reporter.cjs'), { name: 'example-pg' }]],
});
