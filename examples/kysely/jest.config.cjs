const path = require('node:path');
const preset = require('../../jest.preset.cjs');

// Named `example-kysely` in the totals so it does not overwrite packages/kysely's results.
module.exports = preset(__dirname, {
  testTimeout: 60_000,
  reporters: ['default', [path.join(__dirname, '../../scripts/jest-totals-reporter.cjs'), { name: 'example-kysely' }]],
});
