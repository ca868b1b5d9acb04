// Integration tests start a real PostgreSQL and TLS sessions; on a busy CI machine a test can
// take seconds, so the per-test timeout is generous (tests stop their servers in afterAll).
module.exports = require('../../jest.preset.cjs')(__dirname, { testTimeout: 30_000 });
