/**
 * A small bank on Aurora DSQL with Drizzle (`@dsql/drizzle`): apply the drizzle-kit migrations,
 * open a few accounts, let concurrent workers move money between them (OCC conflicts are
 * retried by `transaction()`), then check that the ledger explains every balance.
 */
import type { DsqlPoolConfig } from '@dsql/pg';
import { drizzle } from '@dsql/drizzle';
import { InsufficientFundsError, migrateToLatest, openAccounts, reconcile, transfer } from './bank.js';

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

    let transfers = 0;
    let declined = 0;
    let retries = 0;
    let retriedTransfers = 0;
    let mostAttempts = 0;
    const worker = async (): Promise<void> => {
      for (let i = 0; i < transfersPerWorker; i++) {
        const from = ids[Math.floor(Math.random() * ids.length)]!;
        const others = ids.filter((id) => id !== from);
        const to = others[Math.floor(Math.random() * others.length)]!;
        let attempts = 1;
        try {
          await transfer(db, from, to, 1 + Math.floor(Math.random() * 250), () => {
            retries++;
            attempts++;
          });
          transfers++;
        } catch (err) {
          if (!(err instanceof InsufficientFundsError)) throw err;
          declined++;
        }
        if (attempts > 1) retriedTransfers++;
        mostAttempts = Math.max(mostAttempts, attempts);
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    log(
      `${workers} workers, ${workers * transfersPerWorker} transfers: ${transfers} committed, ${declined} declined ` +
        `(insufficient funds); ${retries} OCC conflicts retried in ${retriedTransfers} transfers (at most ${mostAttempts} attempts)`,
    );

    const check = await reconcile(db, ids, initialBalance);
    const total = check.balances.reduce((a, b) => a + b, 0);
    const ok = check.transfers === transfers && check.balances.every((b, i) => b === check.expected[i] && b >= 0);
    if (!ok || total !== accounts * initialBalance) {
      throw new Error(`books do not balance: ${JSON.stringify({ total, ...check })}`);
    }
    log(`reconciled: balances [${check.balances.join(', ')}], total ${total}, ledger explains every balance`);
    return { accountIds: ids, initialBalance, transfers, declined, retries, retriedTransfers, mostAttempts, balances: check.balances };
  } finally {
    await db.$client.end();
  }
}
