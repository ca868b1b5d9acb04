const path = require('node:path');

const config = require('../../jest.preset.cjs')(__dirname);
// `dsql local` finds @dsql/local's script through its package.json: that one file resolves as
// it does outside jest (the preset maps every other @dsql/local/* path to source).
config.moduleNameMapper = {
  '^@dsql/local/package\\.json$': path.join(__dirname, '..', 'local', 'package.json'),
  ...config.moduleNameMapper,
};
module.exports = config;
