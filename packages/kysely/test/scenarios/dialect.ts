// Child process (connection-loss-process.int.test.ts): Kysely with a DsqlDialect from shared
// options — the dialect creates the DsqlPool, so the user cannot attach an 'error' listener.
import { Kysely, sql } from 'kysely';
import { runConnectionLossScenarios } from '../../../../scripts/child-scenario/connection-loss.mjs';
import { DsqlDialect, transaction, type DsqlDialectConnectionConfig } from '../../src/index.js';

await runConnectionLossScenarios({
  open(options) {
    const db = new Kysely<Record<string, never>>({ dialect: new DsqlDialect(options as DsqlDialectConnectionConfig) });
    const value = async (text: string, on: Kysely<Record<string, never>> = db): Promise<unknown> =>
      (await sql.raw<{ n: unknown }>(text).execute(on)).rows[0]?.n;
    return {
      value: (text) => value(text),
      transaction: (fn) => transaction(db, (trx) => fn((text) => value(text, trx))),
      close: () => db.destroy(),
    };
  },
});
