// Postgres.js 4 (the devDependency `postgres`); jest.postgres-v3.config.cjs runs the same suite on 3.4.
module.exports = { ...require('../../jest.preset.cjs')(__dirname), displayName: 'postgres.js 4' };
