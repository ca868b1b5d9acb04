/**
 * A small bank on Aurora DSQL with Drizzle (`@dsql/drizzle`): apply the drizzle-kit migrations,
 * open a few accounts, let concurrent workers move money between them (OCC conflicts are
 * retried by `transaction()`), then check that the ledger explains every balance.
 */
import type { DsqlPoolConfig } from '@dsql/pg';
import { drizzle } from '@dsql/drizzle';
import { InsufficientFundsError, migrateToLatest, openAccounts, reconcile, transfer } from './bank.js';
import { assertBooksBalance, describeTransfers, runTransfers } from 'example-bank-workload';

export interface BankOptions {
  /** Shared DSQL options: a cluster (`{ host }`) or `startDsqlLocal().connectionOptions()`. */
  connection: DsqlPoolConfig;
  accounts?: number;
  workers?: number;
  transfersPerWorker?: number;
  initialBalance?: number;
  /** Where progress lines go (default: nowhere). */
  log?: (line: string) => void;
}

export interface BankReport {
  accountIds: string[];
  initialBalance: number;
  /** Transfers committed. */
  transfers: number;
  /** Transfers declined for insufficient funds (rolled back, not retried). */
  declined: number;
  /** OCC conflicts retried (calls of `onRetry`). */
  retries: number;
  /** Transfers that needed at least one retry. */
  retriedTransfers: number;
  /** Most attempts one transfer took. */
  mostAttempts: number;
  balances: number[];
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
  const { accounts = 10, workers = 4, transfersPerWorker = 20, initialBalance = 1000, log = () => {} } = options;
  const db = drizzle({ connection: { ...options.connection, max: workers } });
  try {
    const { applied, statements } = await migrateToLatest(db);
    log(
      applied.length > 0
        ? `migrate() applied ${applied.join(', ')}: ${statements} statements, one per transaction (index via CREATE INDEX ASYNC)`
        : 'migrate(): schema already up to date',
    );

    const ids = await openAccounts(db, accounts, initialBalance);
    log(`opened ${accounts} accounts with ${initialBalance} each`);

    const stats = await runTransfers({
      accountIds: ids,
      workers,
      transfersPerWorker,
      transfer: (from, to, amount, onRetry) => transfer(db, from, to, amount, onRetry),
      isDeclined: (err) => err instanceof InsufficientFundsError,
    });
    log(describeTransfers(workers, transfersPerWorker, stats));

    const check = await reconcile(db, ids, initialBalance);
    log(assertBooksBalance(check, { accounts, initialBalance, transfers: stats.transfers }));
    return { accountIds: ids, initialBalance, ...stats, balances: check.balances };
  } finally {
    await db.$client.end();
  }
}
