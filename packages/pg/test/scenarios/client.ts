// Child process (connection-loss-process.int.test.ts): a standalone DsqlClient, no 'error' listener.
import { runConnectionLossScenarios } from '../../../../scripts/child-scenario/connection-loss.mjs';
import { DsqlClient, type DsqlClientConfig } from '../../src/index.js';

const n = (rows: Array<{ n?: unknown }>): unknown => rows[0]?.n;

await runConnectionLossScenarios({
  async open(options) {
    const client = new DsqlClient(options as DsqlClientConfig);
    await client.connect();
    return {
      value: async (text) => n((await client.query(text)).rows),
      transaction: (fn) => client.transaction((tx) => fn(async (text) => n((await tx.query(text)).rows))),
      close: () => client.end(),
    };
  },
});
