/**
 * A small bank on Aurora DSQL with node-postgres (`@dsql/pg`): set up the schema, open a few
 * accounts, let concurrent workers move money between them (OCC conflicts are retried by
 * `pool.transaction()`), then check that the ledger explains every balance. The steps are in
 * `bank.ts`; the run itself (workers, the books check) is shared by every example.
 */
import { DsqlPool, type DsqlPoolConfig } from '@dsql/pg';
import { BANK_DEFAULTS, runBank, type BankReport, type BankRunOptions } from 'example-bank-workload';
import { createSchema } from './schema.js';
import { InsufficientFundsError, openAccounts, reconcile, transfer } from './bank.js';

export type { BankReport } from 'example-bank-workload';

export interface BankOptions extends BankRunOptions {
  /** Shared DSQL options: a cluster (`{ host }`) or `startDsqlLocal().connectionOptions()`. */
  connection: DsqlPoolConfig;
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
  const pool = new DsqlPool({ ...options.connection, max: options.workers ?? BANK_DEFAULTS.workers });
  try {
    return await runBank(
      {
        setUp: async () => `schema ready: ${await createSchema(pool)} statements, one per transaction (index via CREATE INDEX ASYNC)`,
        openAccounts: (count, initialBalance) => openAccounts(pool, count, initialBalance),
        transfer: (from, to, amount, onRetry) => transfer(pool, from, to, amount, onRetry),
        isDeclined: (err) => err instanceof InsufficientFundsError,
        reconcile: (ids, initialBalance) => reconcile(pool, ids, initialBalance),
      },
      options,
    );
  } finally {
    await pool.end();
  }
}
