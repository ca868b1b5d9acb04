import { errorChain } from './error-chain.js';
import { CommitOutcomeUnknownError, DsqlTransactionRolledBackError } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';
import { isConnectionFailureNode, isOccError, isTransientError } from './sqlstate.js';

/**
 * What an adapter plugs into {@link runTransaction}: how to get a connection and run the
 * transaction statements on it. `C` is the driver's connection (a pg `PoolClient`, a
 * Postgres.js reserved connection, …).
 *
 * @example
 * const driver: TransactionDriver<pg.PoolClient> = { connect: () => pool.connect(), begin, commit, rollback, release: (c, destroy) => c.release(destroy) };
 */
export interface TransactionDriver<C> {
  /** A connection for one attempt (a new one per attempt, from the pool). */
  connect(): Promise<C>;
  /** Sends `BEGIN` (DSQL: repeatable read is the only level; do not send `SET TRANSACTION`). */
  begin(conn: C): Promise<void>;
  /** Sends `COMMIT`; may return the command tag (`'COMMIT'` or `'ROLLBACK'`). */
  commit(conn: C): Promise<string | void>;
  /** Sends `ROLLBACK`. */
  rollback(conn: C): Promise<void>;
  /** Gives the connection back; `destroy` is true when it must not be reused (ROLLBACK failed, COMMIT lost). */
  release(conn: C, destroy: boolean): void | Promise<void>;
}

/**
 * The default of {@link runTransaction}: retry OCC conflicts, and transient failures that
 * happened before COMMIT was sent (a lost COMMIT is a `CommitOutcomeUnknownError`, never retried).
 *
 * @example
 * runTransaction(driver, fn, { retryOn: isRetryableTransactionError, maxAttempts: 3 })
 */
export function isRetryableTransactionError(err: unknown): boolean {
  return isOccError(err) || isTransientError(err);
}

/** True when the server answered COMMIT with an error (so the transaction is definitely not committed). */
function serverRefused(err: unknown): boolean {
  return errorChain(err).some((f) => f.sqlstate !== undefined && !isConnectionFailureNode(f));
}

/**
 * The one driver-agnostic transaction loop: `connect → BEGIN → fn → COMMIT`, retried as a
 * whole on OCC conflicts (and on transient failures before COMMIT) with {@link withRetry};
 * `retry: false` runs it once. On error it sends ROLLBACK; a connection whose ROLLBACK fails
 * is released with `destroy = true`. An error during COMMIT that is not a server answer (the
 * connection died with COMMIT in flight) becomes a {@link CommitOutcomeUnknownError} wrapping
 * it, and is NOT retried. A COMMIT answered with `ROLLBACK` (an error was swallowed inside
 * `fn`) throws a `DsqlTransactionRolledBackError`.
 *
 * Retry contract: `fn` may run more than once, each time on a fresh transaction; it must not
 * have side effects outside the database (or they must be idempotent), and it must not keep
 * values from a failed attempt.
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
export async function runTransaction<C, T>(
  driver: TransactionDriver<C>,
  fn: (conn: C, attempt: number) => Promise<T>,
  retry?: RetryOptions | boolean,
): Promise<T> {
  const once = (attempt: number): Promise<T> => runOnce(driver, fn, attempt);
  if (retry === false) return once(1);
  const options = retry === true || retry === undefined ? {} : retry;
  return withRetry(once, { retryOn: isRetryableTransactionError, ...options });
}

async function runOnce<C, T>(driver: TransactionDriver<C>, fn: (conn: C, attempt: number) => Promise<T>, attempt: number): Promise<T> {
  const conn = await driver.connect();
  let destroy = false;
  let ended = false;
  try {
    await driver.begin(conn);
    const result = await fn(conn, attempt);
    let tag: string | void;
    try {
      tag = await driver.commit(conn);
    } catch (err) {
      ended = true;
      if (serverRefused(err)) throw err; // the server rolled the transaction back
      destroy = true;
      throw new CommitOutcomeUnknownError({ cause: err });
    }
    ended = true;
    if (typeof tag === 'string' && tag.toUpperCase() === 'ROLLBACK') throw new DsqlTransactionRolledBackError();
    return result;
  } catch (err) {
    if (!ended) {
      try {
        await driver.rollback(conn);
      } catch {
        destroy = true; // the connection is in an unknown state: never hand it out again
      }
    }
    throw err;
  } finally {
    try {
      await driver.release(conn, destroy);
    } catch {
      // Releasing is the pool's business; its failure must not replace the transaction's outcome.
    }
  }
}
