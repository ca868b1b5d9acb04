import type postgres from 'postgres';
import {
  DsqlUnsupportedError,
  NestedTransactionGuard,
  classifyInPlace,
  isConnectionLoss,
  runManagedTransaction,
  transactionRetryOptions as coreRetryOptions,
  type RetryOptions,
} from '@dsql/core';
import { ConnectionGuard, isPostgresJs3, type GuardedConnectionInfo } from './postgres-js-3-closed-connection-patch.js';
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
 * How this adapter's nested-transaction error names its callbacks and their owner (the check and
 * its contract are @dsql/core's `NestedTransactionGuard`).
 */
const NESTING_WORDING = {
  callback: 'a transaction callback (sql.begin() or transaction())',
  owner: 'sql',
  wait: 'forever when every connection is held, since Postgres.js has no queue timeout',
} as const;

/**
 * The `DsqlUnsupportedError` for `called` (`'sql.begin()'`, `'transaction()'`) when it was called
 * from inside a running transaction callback of the same `sql` (`scope`), else `undefined`.
 *
 * @example
 * const nested = nestedTransactionError(sql, 'sql.begin()');
 * if (nested) return Promise.reject(nested);
 */
export function nestedTransactionError(scope: object, called: string): DsqlUnsupportedError | undefined {
  return new NestedTransactionGuard(scope, NESTING_WORDING).refusal(called);
}

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
 * ensure itself (see postgres-js-3-closed-connection-patch.ts): the transaction's statements are
 * guarded ({@link ConnectionGuard}: they reject with `CONNECTION_CLOSED`), and when the callback
 * finishes — either way — after the connection closed, its answer is withheld from Postgres.js:
 * `begin` has already been rejected with the connection error, and that rejection is what the
 * caller gets. Postgres.js 4 does all of that itself.
 */
async function beginAttempt<TT extends Record<string, unknown>, T>(
  begin: postgres.Sql<TT>['begin'],
  options: string,
  fn: TxCallback<TT, T>,
  where: Omit<GuardedConnectionInfo, 'closed'> | undefined,
  nesting: NestedTransactionGuard,
  patch3: boolean,
  commitSent: () => void,
  started?: (raw: { cancel?: () => Promise<void> }) => void,
): Promise<TransactionResult<T>> {
  assertBeginOptions(options);
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
      const result = await nesting.run(() => {
        const value = fn(inner);
        return (Array.isArray(value) ? Promise.all(value) : value) as T | Promise<T>;
      });
      if (closed()) return guard ? withheld() : (result as T);
      commitSent();
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
  return (await outcome) as TransactionResult<T>;
}

/**
 * One attempt of `sql.begin` for `dsql()`'s wrapped `begin` (its retry, when configured, is
 * around this): {@link beginAttempt} under core's COMMIT-outcome decision. `where` (from `dsql()`)
 * names the endpoint and the open sessions (for the 3.4 guard); `nestScope` (the `sql`, unless
 * `detectNestedTransactions` is off) scopes the callback for the nested-transaction check;
 * `started` receives what Postgres.js's `begin` returned (on Postgres.js 4 a withdrawable
 * `Leasing`: see leasing.ts).
 */
export function beginOnce<TT extends Record<string, unknown>, T>(
  begin: postgres.Sql<TT>['begin'],
  options: string,
  fn: TxCallback<TT, T>,
  where: Omit<GuardedConnectionInfo, 'closed'> | undefined,
  nestScope: object | undefined,
  patch3: boolean,
  started?: (raw: { cancel?: () => Promise<void> }) => void,
): Promise<TransactionResult<T>> {
  const nesting = new NestedTransactionGuard(nestScope, NESTING_WORDING);
  return runManagedTransaction(
    ({ commitSent }) => beginAttempt(begin, options, fn, where, nesting, patch3, commitSent, started),
    false,
  ).catch((err: unknown) => {
    // The error funnel: what leaves sql.begin / transaction() carries err.dsql (also on 3.4).
    throw classifyInPlace(err);
  });
}

/**
 * Retry options for `dsql()`'s `sql.begin` retry: @dsql/core's transaction retry default.
 *
 * @example
 * withRetry(once, transactionRetryOptions({ maxAttempts: 5 }));
 */
export const transactionRetryOptions: (retry: RetryOptions | true) => RetryOptions = (retry) => coreRetryOptions(retry);

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
  const nesting = new NestedTransactionGuard(nestScope, NESTING_WORDING);
  const where = state?.connection;
  const patch3 = isPostgresJs3(sql);
  return runManagedTransaction(
    ({ commitSent }) => beginAttempt(begin, '', fn, where, nesting, patch3, commitSent),
    retry ?? state?.retry ?? true,
  ).catch((err: unknown) => {
    throw classifyInPlace(err);
  });
}
