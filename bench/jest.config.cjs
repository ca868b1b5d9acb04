// The chaos test drives drivers into known upstream hangs (Postgres.js keeps a dead connection's
// query pending: porsager/postgres#1097), and its afterAll gives up on such `end()` calls after a
// deadline and stops the endpoint. forceExit lets jest leave once every test and hook has run
// instead of waiting forever on those abandoned sockets.
module.exports = require('../jest.preset.cjs')(__dirname, { testTimeout: 180_000, forceExit: true });
