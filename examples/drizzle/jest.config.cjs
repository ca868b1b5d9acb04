const path = require('node:path');
const preset = require('../../jest.preset.cjs');

// Named `example-drizzle` in the totals so it does not overwrite packages/drizzle's results.
module.exports = preset(__dirname, {
  testTimeout: 60_000,
  reporters: ['default', [path.join(__dirname, '../../scripts/jest-totals-reporter.cjs'), { name: 'example-drizzle' }]],
});
