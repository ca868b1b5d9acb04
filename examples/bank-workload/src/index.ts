/**
 * What every example bank does the same way, whatever the adapter: concurrent workers moving
 * random amounts between random accounts, and the final check that the ledger explains every
 * balance ({@link runBank}), and the tables of the examples that create them by hand. Each example
 * keeps its adapter-specific parts (schema, `transfer`, `reconcile`) in its
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

/** Run settings every example's `main()` takes besides its connection. */
export interface BankRunOptions {
  accounts?: number;
  workers?: number;
  transfersPerWorker?: number;
  initialBalance?: number;
  /** Where progress lines go (default: nowhere). */
  log?: (line: string) => void;
}

/** Defaults of {@link BankRunOptions} (an example sizes its pool with `workers`). */
export const BANK_DEFAULTS = { accounts: 10, workers: 4, transfersPerWorker: 20, initialBalance: 1000 } as const;

/** What one bank run did. */
export interface BankReport extends TransferStats {
  accountIds: string[];
  initialBalance: number;
  balances: number[];
}

/** The adapter-specific steps of a bank run: each example implements them in its `bank.ts`. */
export interface Bank {
  /** Brings the schema up to date; returns a line saying what it did. */
  setUp(): Promise<string>;
  openAccounts(count: number, initialBalance: number): Promise<string[]>;
  transfer: TransferWorkload['transfer'];
  isDeclined: TransferWorkload['isDeclined'];
  reconcile(accountIds: string[], initialBalance: number): Promise<Reconciliation>;
}

/**
 * Runs a bank once — schema, accounts, concurrent transfers, reconciliation — and reports what
 * happened. Throws if the books do not balance.
 *
 * @example
 * const report = await runBank({ setUp, openAccounts, transfer, isDeclined, reconcile }, { log: console.log });
 */
export async function runBank(bank: Bank, options: BankRunOptions = {}): Promise<BankReport> {
  const { accounts, workers, transfersPerWorker, initialBalance } = { ...BANK_DEFAULTS, ...definedOnly(options) };
  const log = options.log ?? (() => {});
  log(await bank.setUp());
  const ids = await bank.openAccounts(accounts, initialBalance);
  log(`opened ${accounts} accounts with ${initialBalance} each`);
  const stats = await runTransfers({ accountIds: ids, workers, transfersPerWorker, transfer: bank.transfer, isDeclined: bank.isDeclined });
  log(describeTransfers(workers, transfersPerWorker, stats));
  const check = await bank.reconcile(ids, initialBalance);
  log(assertBooksBalance(check, { accounts, initialBalance, transfers: stats.transfers }));
  return { accountIds: ids, initialBalance, ...stats, balances: check.balances };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The bank's tables in `schema`, one statement per transaction: Aurora DSQL runs at most one DDL
 * statement in a transaction, and never DDL together with DML. Every statement is idempotent, so
 * the set-up can run on every start. DSQL builds indexes in the background: `CREATE INDEX ASYNC`
 * answers a job id to wait for (`CALL sys.wait_for_job(id)`).
 *
 * @example
 * for (const sql of bankSchemaStatements('bank_pg')) await run(sql);
 */
export function bankSchemaStatements(schema: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${schema}`,
    `CREATE TABLE IF NOT EXISTS ${schema}.accounts (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     owner text NOT NULL,
     balance bigint NOT NULL
   )`,
    `CREATE TABLE IF NOT EXISTS ${schema}.transfers (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     from_account uuid NOT NULL,
     to_account uuid NOT NULL,
     amount bigint NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
    `CREATE INDEX ASYNC IF NOT EXISTS transfers_from_account ON ${schema}.transfers (from_account)`,
  ];
}

/**
 * The books as read back: each account's balance against its opening balance plus the ledger's
 * transfers in and out. Amounts may come as strings (`bigint` columns through node-postgres).
 *
 * @example
 * return reconciliation(ids, 1000, accountRows, ledgerRows.map((t) => ({ from: t.from_account, to: t.to_account, amount: t.amount })));
 */
export function reconciliation(
  accountIds: readonly string[],
  initialBalance: number,
  accounts: readonly { id: string; balance: number | string | bigint }[],
  ledger: readonly { from: string; to: string; amount: number | string | bigint }[],
): Reconciliation {
  const expected = new Map(accountIds.map((id) => [id, initialBalance]));
  for (const t of ledger) {
    expected.set(t.from, expected.get(t.from)! - Number(t.amount));
    expected.set(t.to, expected.get(t.to)! + Number(t.amount));
  }
  const balance = new Map(accounts.map((a) => [a.id, Number(a.balance)]));
  return {
    balances: accountIds.map((id) => balance.get(id) ?? Number.NaN),
    expected: accountIds.map((id) => expected.get(id)!),
    transfers: ledger.length,
  };
}
