// Child process (connection-loss-process.int.test.ts): drizzle({ connection }) on node-postgres —
// the DsqlPool is created inside @dsql/drizzle, so the user cannot attach an 'error' listener.
import { sql } from 'drizzle-orm';
import type { DsqlPoolConfig } from '@dsql/pg';
import { runConnectionLossScenarios } from '../../../../scripts/child-scenario/connection-loss.mjs';
import { drizzle, transaction } from '../../src/index.js';

await runConnectionLossScenarios({
  open(options) {
    const db = drizzle({ connection: options as DsqlPoolConfig });
    const value = async (text: string, on: { execute: typeof db.execute } = db): Promise<unknown> =>
      ((await on.execute(sql.raw(text))).rows[0] as { n?: unknown } | undefined)?.n;
    return {
      value: (text) => value(text),
      transaction: (fn) => transaction(db, (tx) => fn((text) => value(text, tx))),
      close: () => db.$client.end(),
    };
  },
});
