import type postgres from 'postgres';
import {
  NestedTransactionGuard,
  classifyInPlace,
  nestedTransactionHandleError,
  runManagedTransaction,
  type DsqlStatsRecorder,
  type RetryOptions,
  type TransactionRetryPolicy,
} from '@dsql/core';
import { TransactionCallbackGuard, isPostgresJs3, withheld, type GuardedConnectionInfo } from './postgres-js-3-closed-connection-patch.js';
import { assertBeginOptions, guardTransaction } from './transaction-guard.js';

/** What transactions on one `sql` run with: `dsql()` records it for its `sql` ({@link rememberSql}). */
export interface TransactionTarget {
  /** Postgres.js's own `sql.begin`, before `dsql()` wrapped it. */
  readonly begin: postgres.Sql['begin'];
  /** The default retry of `transaction()`: the session's `retry` (`true` for an `sql` not from `dsql()`). */
  readonly retry: TransactionRetryPolicy;
  /** The nested-transaction check of the `sql` (off with `detectNestedTransactions: false`, or for an `sql` not from `dsql()`). */
  readonly nesting: NestedTransactionGuard;
  /** Postgres.js 3.4: guard the transaction's statements (postgres-js-3-closed-connection-patch.ts). */
  readonly patch3: boolean;
  /** The `sql`'s counters (`session.stats`; none for an `sql` not from `dsql()`). */
  readonly stats?: DsqlStatsRecorder | undefined;
  /** The endpoint and the open sessions of the `sql`, for that guard (`dsql()`'s `sql` only). */
  readonly connection?: Omit<GuardedConnectionInfo, 'closed'> | undefined;
}

/**
 * How this adapter's nested-transaction error names its callbacks and their owner (the check and
 * its contract are @dsql/core's `NestedTransactionGuard`).
 */
const NESTING_WORDING = {
  callback: 'a transaction callback (sql.begin() or transaction())',
  owner: 'sql',
  wait: 'forever when every connection is held, since Postgres.js has no queue timeout',
} as const;

/**
 * The nested-transaction check of an `sql` (`undefined`: off).
 *
 * @example
 * const nesting = nestingGuard(detectNestedTransactions ? sql : undefined);
 */
export function nestingGuard(sql: object | undefined): NestedTransactionGuard {
  return new NestedTransactionGuard(sql, NESTING_WORDING);
}

const targets = new WeakMap<object, TransactionTarget>();

/** Records what transactions on an `sql` created by `dsql()` run with. */
export function rememberSql(sql: object, target: TransactionTarget): void {
  targets.set(sql, target);
}

/** What transactions on `sql` run with: `dsql()`'s record, else defaults; `undefined` for an `sql` without `begin` (a `tx`). */
function targetOf(sql: object): TransactionTarget | undefined {
  const known = targets.get(sql);
  if (known !== undefined) return known;
  const begin = (sql as { begin?: unknown }).begin;
  if (typeof begin !== 'function') return undefined;
  return { begin: begin as postgres.Sql['begin'], retry: true, nesting: nestingGuard(undefined), patch3: isPostgresJs3(sql) };
}

/**
 * What a transaction resolves to: like `sql.begin`, an array of queries becomes their results.
 *
 * @example
 * const [a, b] = await transaction(sql, (tx) => [tx`select 1 as x`, tx`select 2 as y`]);
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mirrors Postgres.js's own (unexported) UnwrapPromiseArray
export type TransactionResult<T> = T extends any[] ? { [k in keyof T]: T[k] extends Promise<infer R> ? R : T[k] } : T;

type TxCallback<TT extends Record<string, unknown>, T> = (tx: postgres.TransactionSql<TT>) => T | Promise<T>;

/**
 * One attempt of Postgres.js's `begin` with the DSQL guards, as @dsql/core's
 * `runManagedTransaction` runs it: `commitSent()` once the callback resolved.
 *
 * Postgres.js sends COMMIT as soon as the callback's promise settles (and rolls back instead
 * when any statement of the transaction failed, even one whose error was caught), so a
 * connection loss reported after the callback resolved, while `begin` was still open, means
 * COMMIT was, or was about to be, sent: core's COMMIT-outcome decision makes it a
 * `CommitOutcomeUnknownError`. (If the connection died just before COMMIT left, reporting
 * "unknown" is the safe side of the same uncertainty.) A loss reported before the callback
 * resolved means COMMIT was never sent: a connection failure that `transaction()` retries. Both
 * Postgres.js 3.4 and 4 reject `begin` as soon as the transaction's connection closes, with the
 * connection error.
 *
 * On Postgres.js 3.4 (`patch3`), nothing more may reach a closed connection, which 3.4 does not
 * ensure itself: see {@link TransactionCallbackGuard} (postgres-js-3-closed-connection-patch.ts).
 */
async function beginAttempt<TT extends Record<string, unknown>, T>(
  target: TransactionTarget,
  options: string,
  fn: TxCallback<TT, T>,
  commitSent: () => void,
  started?: (raw: { cancel?: () => Promise<void> }) => void,
): Promise<TransactionResult<T>> {
  assertBeginOptions(options);
  let settled = false;
  const begin = target.begin as unknown as postgres.Sql<TT>['begin'];
  const outcome = begin(options, async (tx) => {
    const guard = target.patch3 ? new TransactionCallbackGuard(target.connection, () => settled) : undefined;
    try {
      const guarded = guardTransaction(tx);
      const inner = guard ? guard.wrap(guarded) : guarded;
      const result = await target.nesting.run(() => {
        const value = fn(inner);
        return (Array.isArray(value) ? Promise.all(value) : value) as T | Promise<T>;
      });
      if (guard?.closed()) return withheld();
      // Postgres.js 4 settles `begin` while the callback runs only when the connection closed:
      // `begin` has its answer (the connection error), and no COMMIT will be sent.
      if (settled) return result as T;
      commitSent();
      return result as T;
    } catch (err) {
      if (guard) return guard.failed(err);
      throw err;
    }
  });
  started?.(outcome as { cancel?: () => Promise<void> });
  outcome.then(
    () => (settled = true),
    () => (settled = true),
  );
  return (await outcome) as TransactionResult<T>;
}

/**
 * Runs `fn` in Postgres.js's own `begin` (which sends BEGIN / COMMIT / ROLLBACK) under @dsql/core's
 * runner for such drivers (`runManagedTransaction`: retry per `retry`, the COMMIT-outcome
 * decision), after the nested-transaction check for `called` (`'sql.begin()'`, `'transaction()'`);
 * errors leave through core's error funnel. The one path of `dsql()`'s `sql.begin` and of
 * {@link transaction}. `started` receives what Postgres.js's `begin` returned for each attempt (on
 * Postgres.js 4 a withdrawable `Leasing`: see leasing.ts).
 *
 * @example
 * const rows = await beginTransaction(target, 'sql.begin()', '', (tx) => tx`select 1`, false);
 */
export function beginTransaction<TT extends Record<string, unknown>, T>(
  target: TransactionTarget,
  called: string,
  options: string,
  fn: TxCallback<TT, T>,
  retry: TransactionRetryPolicy,
  started?: (raw: { cancel?: () => Promise<void> }) => void,
): Promise<TransactionResult<T>> {
  // Checked here, in the caller's async context, before anything is sent or reserved.
  const nested = target.nesting.refusal(called);
  if (nested) return Promise.reject(nested);
  return runManagedTransaction(({ commitSent }) => beginAttempt(target, options, fn, commitSent, started), retry, undefined, target.stats).catch((err: unknown) => {
    // The error funnel: what leaves sql.begin / transaction() carries err.dsql (also on 3.4).
    throw classifyInPlace(err);
  });
}

/**
 * Runs `fn` in a DSQL transaction on `sql` (from `dsql()`, or any Postgres.js `sql`) with
 * @dsql/core's transaction runner (`runManagedTransaction`, whose contracts these are), and
 * retries the whole transaction on OCC conflicts (SQLSTATE 40001, OC000/OC001) and on
 * connection failures that happened before COMMIT was sent, with capped exponential backoff
 * and jitter. `retry` overrides the `retry` option given to `dsql()`; `false` runs once.
 *
 * Contracts:
 * - `fn` may run more than once, each time in a fresh transaction: it must not have side
 *   effects outside the database (or they must be idempotent).
 * - A COMMIT whose answer was lost (the connection died with COMMIT in flight) is never
 *   retried: it rejects with `CommitOutcomeUnknownError` (`cause`: the connection error).
 * - `tx.savepoint()` rejects at once with `DsqlUnsupportedError` (DSQL has no savepoints).
 * - Called with the top-level `sql` from inside a running transaction callback of that same
 *   `sql` (`sql.begin()` or `transaction()`) — instead of the callback's `tx` — it rejects at once
 *   with `DsqlUnsupportedError` before anything is sent or any connection is taken: it would be a
 *   separate transaction on another connection, not a nested one (unless `dsql()` was given
 *   `detectNestedTransactions: false`).
 * - Like `sql.begin`, returning an array of queries runs them and resolves to their results.
 *
 * @example
 * import { dsql, transaction } from '@dsql/postgres';
 *
 * const sql = dsql('postgres://admin@abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws/postgres');
 * const balance = await transaction(sql, async (tx) => {
 *   const [row] = await tx`update accounts set balance = balance - ${10} where id = ${id} returning balance`;
 *   return row.balance;
 * });
 */
export function transaction<TT extends Record<string, unknown>, T>(
  sql: postgres.Sql<TT>,
  fn: TxCallback<TT, T>,
  retry?: RetryOptions | boolean,
): Promise<TransactionResult<T>> {
  const target = targetOf(sql);
  if (target === undefined) {
    return Promise.reject(
      nestedTransactionHandleError('transaction()', "an sql without begin(), such as a transaction's tx (it needs the top-level sql from dsql() or postgres())"),
    );
  }
  return beginTransaction(target, 'transaction()', '', fn, retry ?? target.retry);
}
