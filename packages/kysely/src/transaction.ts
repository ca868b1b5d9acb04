import {
  NestedTransactionGuard,
  classifyInPlace,
  dsqlStatsRecorderOf,
  isRetryableTransactionError,
  nestedTransactionHandleError,
  retryTransaction,
  type RetryOptions,
} from '@dsql/core';
import type { Kysely, Transaction } from 'kysely';
import { DsqlAdapter } from './adapter.js';
import { DsqlJobError } from '@dsql/core/migrations';
import type { SessionSource } from './session.js';

/**
 * Nested transactions through Kysely fail fast: a transaction started on the *outer* database
 * (or on the pool / `sql` underneath) from inside a running `transaction()` callback would run on
 * another connection. The check is @dsql/core's `NestedTransactionGuard` (its contract is there),
 * with the pool or `sql` as owner — known once the source created it — so it works across APIs:
 * this package, `pool.transaction()` of @dsql/pg, `sql.begin()` of @dsql/postgres. `detect`:
 * `detectNestedTransactions` (`false`: no check).
 *
 * @example
 * const guard = nestGuard(pgSource(pool), true);
 */
export function nestGuard(source: SessionSource, detect: boolean): NestedTransactionGuard {
  return NestedTransactionGuard.lazy(() => (detect ? source.owner() : undefined), {
    callback: 'a transaction callback',
    owner: source.ownerName,
  });
}

/**
 * Runs `fn` in a Kysely transaction (`db.transaction().execute(fn)`) with @dsql/core's transaction
 * runner (whose retry and COMMIT-outcome contracts these are), and retries the whole
 * transaction when it fails with an OCC conflict (SQLSTATE 40001, OC000 / OC001) or a transient
 * failure before COMMIT was sent, with capped exponential backoff and full jitter (`withRetry`
 * from `@dsql/core`). `retry` overrides the dialect's `retry` option; `false` runs it once.
 *
 * Contracts:
 * - **`fn` may run more than once**, each time in a fresh transaction on a pooled connection:
 *   it must not have side effects outside the database (no e-mails, HTTP calls or in-memory
 *   counters), or they must be idempotent. `attempt` (1 first) tells which run this is.
 * - A COMMIT whose answer was lost (the connection died with COMMIT in flight) is **never**
 *   retried: it rejects with `CommitOutcomeUnknownError` — the changes may be committed.
 * - Any other error rolls back and is thrown as it is (with a non-enumerable `attempts`). A
 *   `DsqlJobError` (an index job started in `fn` failed, waited for after COMMIT) is not retried.
 * - Nesting: while `fn` runs, starting another transaction on the same pool or `sql` — this
 *   `transaction(db, …)` again, Kysely's `db.transaction()` / `db.startTransaction()` (of this or
 *   any Kysely database on that pool or `sql`), `pool.transaction()` of a `DsqlPool`, `sql.begin()`
 *   of a `dsql()` `sql` — fails at once with `DsqlUnsupportedError`, before a connection is checked
 *   out: it would be a separate transaction on another connection. Use `trx`. Not refused: work
 *   that runs after `fn` settled, transactions on another pool, plain queries on `db` (they are
 *   outside the transaction). A transaction started with Kysely's own `db.transaction().execute()`
 *   opens no such scope (Kysely runs its callback itself); use this function for the check.
 *   `detectNestedTransactions: false` on the dialect turns it off.
 * - Savepoints (`trx.savepoint()`) and isolation levels other than repeatable read fail at once
 *   (`DsqlUnsupportedError`); called with a transaction as `db`, it fails at once too (DSQL has
 *   no nested transactions).
 *
 * @example
 * import { transaction } from '@dsql/kysely';
 *
 * const balance = await transaction(db, async (trx) => {
 *   const row = await trx.updateTable('accounts').set((eb) => ({ balance: eb('balance', '-', 10) }))
 *     .where('id', '=', id).returning('balance').executeTakeFirstOrThrow();
 *   return row.balance;
 * }, { maxAttempts: 10 });
 */
export function transaction<DB, T>(
  db: Kysely<DB>,
  fn: (trx: Transaction<DB>, attempt: number) => Promise<T>,
  retry?: RetryOptions | boolean,
): Promise<T> {
  if (db.isTransaction) return Promise.reject(nestedTransactionHandleError('transaction()', 'a transaction'));
  const adapter = db.getExecutor().adapter;
  const nest = adapter instanceof DsqlAdapter ? adapter.nest : undefined;
  const nested = nest?.refusal('transaction()');
  if (nested) return Promise.reject(nested);
  const once = (attempt: number): Promise<T> =>
    db.transaction().execute((trx) => (nest === undefined ? fn(trx, attempt) : nest.run(() => fn(trx, attempt))));
  // A failed wait for an index job comes after COMMIT: the transaction must not run again.
  const retryOn = (err: unknown): boolean => !(err instanceof DsqlJobError) && isRetryableTransactionError(err);
  // Counted in the stats of the dialect's pool or `sql` (a DsqlPool's or dsql()'s), as its own transactions are.
  const stats = adapter instanceof DsqlAdapter ? dsqlStatsRecorderOf(adapter.owner()) : undefined;
  return retryTransaction(once, retry ?? (adapter instanceof DsqlAdapter ? adapter.retry : true), retryOn, stats).catch((err: unknown) => {
    // The error funnel: what leaves transaction() carries err.dsql.
    throw classifyInPlace(err);
  });
}
