const path = require('node:path');
const preset = require('../../jest.preset.cjs');

module.exports = preset(__dirname, {
  testTimeout: 60_000,
  // @dsql/opentelemetry resolves to its source too, like the preset's other @dsql/* packages.
  moduleNameMapper: {
    ...preset(__dirname).moduleNameMapper,
    '^@dsql/opentelemetry$': path.join(__dirname, '../../packages/opentelemetry/src/index.ts'),
  },
  // Named `example-metrics` in the totals so it does not overwrite another package's results.
  reporters: ['default', [path.join(__dirname, '../../scripts/jest-totals-reporter.cjs'), { name: 'example-metrics' }]],
});
