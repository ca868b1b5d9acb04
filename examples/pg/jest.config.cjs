const path = require('node:path');
const preset = require('../../jest.preset.cjs');

// Named `example-pg` in the totals so it does not overwrite packages/pg's results.
module.exports = preset(__dirname, {
  testTimeout: 60_000,
  reporters: ['default', [path.join(__dirname, '../../scripts/jest-totals-reporter.cjs'), { name: 'example-pg' }]],
});
