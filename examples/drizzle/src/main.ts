/**
 * A small bank on Aurora DSQL with Drizzle (`@dsql/drizzle`): apply the drizzle-kit migrations,
 * open a few accounts, let concurrent workers move money between them (OCC conflicts are
 * retried by `transaction()`), then check that the ledger explains every balance. The steps are
 * in `bank.ts`; the run itself (workers, the books check) is shared by every example.
 */
import type { DsqlPoolConfig } from '@dsql/pg';
import { drizzle } from '@dsql/drizzle';
import { BANK_DEFAULTS, runBank, type BankReport, type BankRunOptions } from 'example-bank-workload';
import { InsufficientFundsError, migrateToLatest, openAccounts, reconcile, transfer } from './bank.js';

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
  const db = drizzle({ connection: { ...options.connection, max: options.workers ?? BANK_DEFAULTS.workers } });
  try {
    return await runBank(
      {
        setUp: async () => {
          const { applied, statements } = await migrateToLatest(db);
          return applied.length > 0
            ? `migrate() applied ${applied.join(', ')}: ${statements} statements, one per transaction (index via CREATE INDEX ASYNC)`
            : 'migrate(): schema already up to date';
        },
        openAccounts: (count, initialBalance) => openAccounts(db, count, initialBalance),
        transfer: (from, to, amount, onRetry) => transfer(db, from, to, amount, onRetry),
        isDeclined: (err) => err instanceof InsufficientFundsError,
        reconcile: (ids, initialBalance) => reconcile(db, ids, initialBalance),
      },
      options,
    );
  } finally {
    await db.$client.end();
  }
}
