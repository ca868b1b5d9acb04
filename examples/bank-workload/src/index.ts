/**
 * What every example bank does the same way, whatever the adapter: concurrent workers moving
 * random amounts between random accounts, and the final check that the ledger explains every
 * balance. Each example keeps its adapter-specific parts (schema, `transfer`, `reconcile`) in its
 * own `bank.ts`, which is the part worth reading.
 */

/** Counts from a run of {@link runTransfers}. */
export interface TransferStats {
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
}

/** The workload: who moves money, how often, and how one transfer is made. */
export interface TransferWorkload {
  accountIds: readonly string[];
  workers: number;
  transfersPerWorker: number;
  /** Moves `amount` from `from` to `to` in one retried transaction; calls `onRetry` per OCC retry. */
  transfer(from: string, to: string, amount: number, onRetry: () => void): Promise<void>;
  /** True for the error `transfer` throws when `from` lacks the money (counted, not rethrown). */
  isDeclined(err: unknown): boolean;
}

/**
 * Runs `workers` concurrent loops of `transfersPerWorker` transfers between random accounts.
 *
 * @example
 * const stats = await runTransfers({ accountIds, workers: 4, transfersPerWorker: 20, transfer, isDeclined });
 */
export async function runTransfers(w: TransferWorkload): Promise<TransferStats> {
  const ids = w.accountIds;
  const stats: TransferStats = { transfers: 0, declined: 0, retries: 0, retriedTransfers: 0, mostAttempts: 0 };
  const worker = async (): Promise<void> => {
    for (let i = 0; i < w.transfersPerWorker; i++) {
      const from = ids[Math.floor(Math.random() * ids.length)]!;
      const others = ids.filter((id) => id !== from);
      const to = others[Math.floor(Math.random() * others.length)]!;
      let attempts = 1;
      try {
        await w.transfer(from, to, 1 + Math.floor(Math.random() * 250), () => {
          stats.retries++;
          attempts++;
        });
        stats.transfers++;
      } catch (err) {
        if (!w.isDeclined(err)) throw err;
        stats.declined++;
      }
      if (attempts > 1) stats.retriedTransfers++;
      stats.mostAttempts = Math.max(stats.mostAttempts, attempts);
    }
  };
  await Promise.all(Array.from({ length: w.workers }, worker));
  return stats;
}

/**
 * One line saying what {@link runTransfers} did.
 *
 * @example
 * log(describeTransfers(4, 20, stats));
 */
export function describeTransfers(workers: number, transfersPerWorker: number, s: TransferStats): string {
  return (
    `${workers} workers, ${workers * transfersPerWorker} transfers: ${s.transfers} committed, ${s.declined} declined ` +
    `(insufficient funds); ${s.retries} OCC conflicts retried in ${s.retriedTransfers} transfers (at most ${s.mostAttempts} attempts)`
  );
}

/** What an example's `reconcile()` read back: balances, the balances the ledger implies, and its row count. */
export interface Reconciliation {
  balances: number[];
  expected: number[];
  transfers: number;
}

/**
 * Throws unless the books balance: the ledger holds every committed transfer, explains every
 * balance, no balance is negative, and the total is what was opened. Returns a line saying so.
 *
 * @example
 * log(assertBooksBalance(await reconcile(pool, ids, 1000), { accounts: 10, initialBalance: 1000, transfers: stats.transfers }));
 */
export function assertBooksBalance(check: Reconciliation, opened: { accounts: number; initialBalance: number; transfers: number }): string {
  const total = check.balances.reduce((a, b) => a + b, 0);
  const ok = check.transfers === opened.transfers && check.balances.every((b, i) => b === check.expected[i] && b >= 0);
  if (!ok || total !== opened.accounts * opened.initialBalance) {
    throw new Error(`books do not balance: ${JSON.stringify({ total, ...check })}`);
  }
  return `reconciled: balances [${check.balances.join(', ')}], total ${total}, ledger explains every balance`;
}
