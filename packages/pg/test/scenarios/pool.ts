// Child process (connection-loss-process.int.test.ts): a DsqlPool, no 'error' listener.
import { runConnectionLossScenarios } from '../../../../scripts/child-scenario/connection-loss.mjs';
import { DsqlPool, type DsqlPoolConfig } from '../../src/index.js';

const n = (rows: Array<{ n?: unknown }>): unknown => rows[0]?.n;

await runConnectionLossScenarios({
  open(options) {
    const pool = new DsqlPool(options as DsqlPoolConfig);
    return {
      value: async (text) => n((await pool.query(text)).rows),
      transaction: (fn) => pool.transaction((tx) => fn(async (text) => n((await tx.query(text)).rows))),
      close: () => pool.end(),
    };
  },
});
