import type postgres from 'postgres';
import {
  CommitOutcomeUnknownError,
  classifyInPlace,
  DsqlUnsupportedError,
  isConnectionLoss,
  isRetryableTransactionError,
  resolveRetryOptions,
  withRetry,
  type RetryOptions,
} from '@dsql/core';
import { ConnectionGuard, isPostgresJs3, type GuardedConnectionInfo } from './postgres-js-3-closed-connection-patch.js';
import { nestedTransactionError, runInsideTransaction } from './nested-transaction-guard.js';
import { assertBeginOptions, guardTransaction } from './transaction-guard.js';

/** What `dsql()` remembers about an `sql` it created. */
export interface SqlState {
  /** Postgres.js's own `sql.begin`, before `dsql()` wrapped it. */
  readonly begin: postgres.Sql['begin'];
  /** Transaction retry options from the `retry` option (`false`: no retry). */
  readonly retry: RetryOptions | false;
  /** The endpoint and the open sessions of the `sql` (for the transaction's connection guard). */
  readonly connection: Omit<GuardedConnectionInfo, 'closed'>;
  /** Whether a transaction started inside a transaction callback of this `sql` is refused. */
  readonly detectNestedTransactions: boolean;
}

const states = new WeakMap<object, SqlState>();

/** Records the state of an `sql` created by `dsql()`. */
export function rememberSql(sql: object, state: SqlState): void {
  states.set(sql, state);
}

/** The state of an `sql` created by `dsql()`, if it was. */
export function sqlState(sql: object): SqlState | undefined {
  return states.get(sql);
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
 * One attempt: Postgres.js's `begin` with the DSQL guards, turning a connection lost while
 * COMMIT was in flight into a `CommitOutcomeUnknownError`.
 *
 * Postgres.js sends COMMIT as soon as the callback's promise settles (and rolls back instead
 * when any statement of the transaction failed, even one whose error was caught), so a
 * connection loss reported after the callback resolved, while `begin` was still open, means
 * COMMIT was, or was about to be, sent: its outcome is unknown. (If the connection died just
 * before COMMIT left, reporting "unknown" is the safe side of the same uncertainty.) A loss
 * reported before the callback resolved means COMMIT was never sent: a connection failure that
 * `transaction()` retries. Both Postgres.js 3.4 and 4 reject `begin` as soon as the transaction's
 * connection closes, with the connection error.
 *
 * On Postgres.js 3.4 (`patch3`), nothing more may reach a closed connection, which 3.4 does not
 * ensure itself (see postgres-js-3-closed-connection-patch.ts): the transaction's statements are
 * guarded ({@link ConnectionGuard}: they reject with `CONNECTION_CLOSED`), and when the callback
 * finishes — either way — after the connection closed, its answer is withheld from Postgres.js:
 * `begin` has already been rejected with the connection error, and that rejection is what the
 * caller gets. Postgres.js 4 does all of that itself (a statement on the closed connection
 * rejects, no COMMIT or ROLLBACK is written to it).
 *
 * `where` (from `dsql()`) names the endpoint and the open sessions (for the 3.4 guard); without
 * it (a plain `postgres()` sql) the connection counts as closed once `begin` was rejected.
 *
 * `nestScope` (the `sql` from `dsql()`, unless `detectNestedTransactions` is off) marks the
 * callback as running for that `sql` while it runs, so that a transaction started on the same
 * `sql` from inside it is refused (see nested-transaction-guard.ts).
 *
 * `started` receives what Postgres.js's `begin` returned (on Postgres.js 4 a withdrawable
 * `Leasing`: see leasing.ts).
 */
export async function beginOnce<TT extends Record<string, unknown>, T>(
  begin: postgres.Sql<TT>['begin'],
  options: string,
  fn: TxCallback<TT, T>,
  where: Omit<GuardedConnectionInfo, 'closed'> | undefined,
  nestScope: object | undefined,
  patch3: boolean,
  started?: (raw: { cancel?: () => Promise<void> }) => void,
): Promise<TransactionResult<T>> {
  assertBeginOptions(options);
  let committing = false;
  let settled = false;
  /** Postgres.js 3.4's pending answer to a callback whose connection closed: never settles. */
  const withheld = (): Promise<never> => new Promise<never>(() => undefined);
  const outcome = begin(options, async (tx) => {
    // While the callback runs, `begin` settles only when the connection closed.
    const guard = patch3
      ? new ConnectionGuard({ host: where?.host ?? 'localhost', port: where?.port ?? 5432, live: where?.live, closed: () => settled })
      : undefined;
    const closed = (): boolean => settled || (guard?.sessionClosed() ?? false);
    try {
      const guarded = guardTransaction(tx);
      const inner = guard ? guard.wrap(guarded) : guarded;
      const run = (): T | Promise<T> => {
        const value = fn(inner);
        return (Array.isArray(value) ? Promise.all(value) : value) as T | Promise<T>;
      };
      const result = await (nestScope === undefined ? run() : runInsideTransaction(nestScope, run));
      if (closed()) return guard ? withheld() : (result as T);
      committing = true;
      return result as T;
    } catch (err) {
      // A connection loss is reported to the statement (by the socket's 'error') a moment
      // before Postgres.js handles the close and rejects `begin`: give it that moment. The error
      // is recognised through `cause` chains and AggregateErrors (core's isConnectionLoss),
      // since ORMs (Drizzle's DrizzleQueryError) and applications wrap driver errors.
      if (guard && isConnectionLoss(err)) await new Promise((resolve) => setImmediate(resolve));
      if (guard && closed()) return withheld();
      throw err;
    }
  });
  started?.(outcome as { cancel?: () => Promise<void> });
  outcome.then(
    () => (settled = true),
    () => (settled = true),
  );
  try {
    return (await outcome) as TransactionResult<T>;
  } catch (err) {
    // The error funnel: what leaves sql.begin / transaction() carries err.dsql (also on 3.4).
    if (committing && isConnectionLoss(err)) throw classifyInPlace(new CommitOutcomeUnknownError({ cause: err }));
    throw classifyInPlace(err);
  }
}

/** Retry options for {@link withRetry}: transaction-safe defaults, then the caller's own. */
export function transactionRetryOptions(retry: RetryOptions | true): RetryOptions {
  const resolved = resolveRetryOptions(retry) as RetryOptions;
  const out: RetryOptions = { retryOn: isRetryableTransactionError };
  for (const [k, v] of Object.entries(resolved)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * Runs `fn` in a DSQL transaction on `sql` (from `dsql()`, or any Postgres.js `sql`) and
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
  const state = sqlState(sql);
  const begin = (state?.begin ?? (sql as { begin?: unknown }).begin) as postgres.Sql<TT>['begin'] | undefined;
  if (typeof begin !== 'function') {
    // A transaction's `tx` or a reserved connection has no `begin`: this would be a nested
    // transaction, which DSQL cannot do (no savepoints).
    return Promise.reject(
      new DsqlUnsupportedError(
        'nested transactions',
        'transaction() needs the top-level sql from dsql() (or postgres()); it was given one without begin(), ' +
          'such as a transaction\'s tx. Aurora DSQL has no savepoints, so transactions cannot nest: run the work in the outer transaction.',
      ),
    );
  }
  const nestScope = state?.detectNestedTransactions ? sql : undefined;
  const nested = nestScope && nestedTransactionError(nestScope, 'transaction()');
  if (nested) return Promise.reject(nested);
  const policy = retry ?? state?.retry ?? true;
  const where = state?.connection;
  const patch3 = isPostgresJs3(sql);
  if (policy === false) return beginOnce(begin, '', fn, where, nestScope, patch3);
  return withRetry(() => beginOnce(begin, '', fn, where, nestScope, patch3), transactionRetryOptions(policy));
}
