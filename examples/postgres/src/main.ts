/**
 * A small bank on Aurora DSQL with Postgres.js (`@dsql/postgres`): set up the schema, open a few
 * accounts, let concurrent workers move money between them (OCC conflicts are retried by
 * `transaction()`), then check that the ledger explains every balance. The steps are in
 * `bank.ts`; the run itself (workers, the books check) is shared by every example.
 */
import { dsql, type DsqlPostgresOptions } from '@dsql/postgres';
import { BANK_DEFAULTS, runBank, type BankReport, type BankRunOptions } from 'example-bank-workload';
import { createSchema } from './schema.js';
import { InsufficientFundsError, openAccounts, reconcile, transfer } from './bank.js';

export type { BankReport } from 'example-bank-workload';

export interface BankOptions extends BankRunOptions {
  /** Shared DSQL options: a cluster (`{ host }`) or `startDsqlLocal().connectionOptions()`. */
  connection: DsqlPostgresOptions;
}

/**
 * Runs the bank once — schema, accounts, concurrent transfers, reconciliation — and reports what
 * happened. Throws if the books do not balance.
 *
 * @example
 * const report = await main({ connection: { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' }, log: console.log });
 * console.log(report.retries, 'OCC conflicts retried');
 */
export async function main(options: BankOptions): Promise<BankReport> {
  const sql = dsql({ ...options.connection, max: options.workers ?? BANK_DEFAULTS.workers, onnotice: () => {} });
  try {
    return await runBank(
      {
        setUp: async () => `schema ready: ${await createSchema(sql)} statements, one per transaction (index via CREATE INDEX ASYNC)`,
        openAccounts: (count, initialBalance) => openAccounts(sql, count, initialBalance),
        transfer: (from, to, amount, onRetry) => transfer(sql, from, to, amount, onRetry),
        isDeclined: (err) => err instanceof InsufficientFundsError,
        reconcile: (ids, initialBalance) => reconcile(sql, ids, initialBalance),
      },
      options,
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
}
