/**
 * The one transaction runner of every adapter. Two shapes of driver plug into it:
 * - {@link TransactionDriver} — a connection the runner checks out and runs BEGIN / COMMIT /
 *   ROLLBACK on (node-postgres): {@link runTransaction} runs the whole attempt, the statements
 *   and their outcome through connection-transaction.ts (which Kysely's driver uses step by step);
 * - a driver that runs BEGIN … COMMIT around a callback itself (Postgres.js `sql.begin`,
 *   Drizzle's `db.transaction`): {@link runManagedTransaction} applies the same COMMIT-outcome
 *   decision and retry around it.
 *
 * Contracts stated here once (adapters' `transaction()` JSDoc refers to them):
 * - **Retry**: the callback may run more than once, each time in a fresh transaction — on an OCC
 *   conflict (40001, OC000/OC001), and (by default) on a transient failure before COMMIT was sent —
 *   with capped exponential backoff and jitter ({@link withRetry}); it must not have side effects
 *   outside the database (or they must be idempotent), nor keep values from a failed attempt.
 *   `retry: false` runs it once.
 * - **COMMIT outcome**: see commit-outcome.ts — an unknown COMMIT outcome is a
 *   `CommitOutcomeUnknownError` and is **never retried**.
 * - **Broken connections**: a connection whose ROLLBACK failed, or whose COMMIT answer was lost,
 *   is discarded, never handed out again.
 */
import { withRetry, resolveRetryOptions, type RetryOptions } from '../retry.js';
import { isOccError, isTransientError } from '../errors/sqlstate.js';
import { commitFailure } from './commit-outcome.js';
import { ConnectionTransaction, type TransactionStatements } from './connection-transaction.js';
import { observeTransaction } from '../diagnostics/transaction-events.js';
import type { DsqlStatsRecorder } from '../diagnostics/stats.js';

/**
 * What an adapter plugs into {@link runTransaction}: how to get a connection and give it back,
 * and the transaction statements on it ({@link TransactionStatements}, e.g. from
 * `transactionStatements(send)`) — a few methods, no driver import (the shape of Kysely's
 * `PostgresPool` / `PostgresPoolClient`). `C` is the driver's connection (a pg `PoolClient`, …).
 *
 * @example
 * const driver: TransactionDriver<pg.PoolClient> = { connect: () => pool.connect(), ...statements, release: (c, destroy) => c.release(destroy) };
 */
export interface TransactionDriver<C> extends TransactionStatements<C> {
  /** The pool's counters (`session.stats`): the attempts and their outcomes are counted there. */
  readonly stats?: DsqlStatsRecorder | undefined;
  /** A connection for one attempt (a new one per attempt, from the pool). */
  connect(): Promise<C>;
  /** Gives the connection back; `destroy` is true when it must not be reused (ROLLBACK failed, COMMIT lost). */
  release(conn: C, destroy: boolean): void | Promise<void>;
}

/**
 * The default of the runner's retry: OCC conflicts, and transient failures that happened before
 * COMMIT was sent (a lost COMMIT is a `CommitOutcomeUnknownError`, never retried).
 *
 * @example
 * runTransaction(driver, fn, { retryOn: isRetryableTransactionError, maxAttempts: 3 })
 */
export function isRetryableTransactionError(err: unknown): boolean {
  return isOccError(err) || isTransientError(err);
}

/** A transaction's retry: options, `true` for the defaults, `false` for one attempt. */
export type TransactionRetryPolicy = RetryOptions | boolean;

/**
 * Retry options for a transaction: `policy` validated (`DsqlConfigError` naming `field`), with
 * `retryOn` defaulting to `defaultRetryOn` ({@link isRetryableTransactionError}).
 *
 * @example
 * withRetry(once, transactionRetryOptions({ maxAttempts: 5 }));
 */
export function transactionRetryOptions(
  policy: RetryOptions | true | undefined,
  defaultRetryOn: (err: unknown, attempt: number) => boolean = isRetryableTransactionError,
  field = 'retry',
): RetryOptions {
  const resolved = resolveRetryOptions(policy ?? true, field) as RetryOptions;
  return { ...resolved, retryOn: resolved.retryOn ?? defaultRetryOn };
}

/**
 * Runs `once(attempt)` under the transaction retry contract (see the module): once when `policy`
 * is `false`, else retried with {@link transactionRetryOptions}.
 *
 * @example
 * await retryTransaction((attempt) => db.transaction().execute((trx) => fn(trx, attempt)), retry);
 */
export function retryTransaction<T>(
  once: (attempt: number) => Promise<T>,
  policy: TransactionRetryPolicy | undefined,
  defaultRetryOn?: (err: unknown, attempt: number) => boolean,
  stats?: DsqlStatsRecorder,
): Promise<T> {
  // Every adapter's transaction() passes here: the dsql:transaction:* messages are published (and
  // the pool's stats counted) once, for all.
  const observed = observeTransaction(once, stats);
  if (policy === false) return observed.run(() => observed.once(1));
  const options = transactionRetryOptions(policy === true ? undefined : policy, defaultRetryOn);
  return observed.run(() => withRetry(observed.once, options));
}

/**
 * The transaction loop over a {@link TransactionDriver}: `connect → BEGIN → fn → COMMIT`, retried
 * as a whole (the module's retry contract). On error it sends ROLLBACK; a connection whose ROLLBACK
 * fails, or whose COMMIT answer was lost, is released with `destroy = true`. COMMIT's outcome
 * follows commit-outcome.ts: lost → `CommitOutcomeUnknownError` (not retried), answered `ROLLBACK`
 * → `DsqlTransactionRolledBackError`.
 *
 * @example
 * const total = await runTransaction(
 *   {
 *     connect: () => pool.connect(),
 *     begin: (c) => c.query('BEGIN').then(() => {}),
 *     commit: (c) => c.query('COMMIT').then((r) => r.command),
 *     rollback: (c) => c.query('ROLLBACK').then(() => {}),
 *     release: (c, destroy) => c.release(destroy),
 *   },
 *   async (client) => (await client.query('SELECT sum(amount) FROM orders')).rows[0].sum,
 * );
 */
export function runTransaction<C, T>(
  driver: TransactionDriver<C>,
  fn: (conn: C, attempt: number) => Promise<T>,
  retry?: TransactionRetryPolicy,
  defaultRetryOn?: (err: unknown, attempt: number) => boolean,
): Promise<T> {
  return retryTransaction((attempt) => runOnce(driver, fn, attempt), retry, defaultRetryOn, driver.stats);
}

async function runOnce<C, T>(driver: TransactionDriver<C>, fn: (conn: C, attempt: number) => Promise<T>, attempt: number): Promise<T> {
  const conn = await driver.connect();
  const tx = new ConnectionTransaction(driver, conn);
  try {
    await tx.begin();
    const result = await fn(conn, attempt);
    await tx.commit();
    return result;
  } catch (err) {
    await tx.rollback(); // nothing once COMMIT was attempted
    throw err;
  } finally {
    try {
      await driver.release(conn, tx.discard);
    } catch {
      // Releasing is the pool's business; its failure must not replace the transaction's outcome.
    }
  }
}

/**
 * One attempt of a driver-run transaction, as {@link runManagedTransaction} hands it to the adapter.
 */
export interface ManagedAttempt {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /**
   * Call when the callback has resolved and the driver is about to send COMMIT: from then on a
   * failure of the attempt is COMMIT's (commit-outcome.ts decides what it means).
   */
  commitSent(): void;
}

/**
 * The runner for drivers that send BEGIN / COMMIT / ROLLBACK themselves around a callback
 * (Postgres.js `sql.begin`, Drizzle `db.transaction`): `run` starts one attempt with the driver and
 * calls `commitSent()` once the callback resolved; a failure after that follows commit-outcome.ts
 * (a lost COMMIT becomes `CommitOutcomeUnknownError`, never retried). Retried per the module's
 * retry contract.
 *
 * @example
 * await runManagedTransaction(({ attempt, commitSent }) =>
 *   sql.begin(async (tx) => { const r = await fn(tx, attempt); commitSent(); return r; }), retry);
 */
export function runManagedTransaction<T>(
  run: (attempt: ManagedAttempt) => Promise<T>,
  retry?: TransactionRetryPolicy,
  defaultRetryOn?: (err: unknown, attempt: number) => boolean,
  stats?: DsqlStatsRecorder,
): Promise<T> {
  const once = async (attempt: number): Promise<T> => {
    let sent = false;
    try {
      return await run({ attempt, commitSent: () => void (sent = true) });
    } catch (err) {
      throw sent ? commitFailure(err) : err;
    }
  };
  return retryTransaction(once, retry, defaultRetryOn, stats);
}
