/**
 * Drizzle transactions on Aurora DSQL, for both drivers: OCC retry, nested transactions
 * refused before anything is sent, a lost COMMIT reported as `CommitOutcomeUnknownError`.
 */
import { sql } from 'drizzle-orm';
import {
  DsqlUnsupportedError,
  NestedTransactionGuard,
  assertRepeatableRead,
  classifyInPlace,
  resolveRetryOptions,
  aliasDsqlStats,
  dsqlStatsRecorderOf,
  runManagedTransaction,
  runTransaction,
  savepointError,
  type RetryOptions,
  type TransactionDriver,
} from '@dsql/core';
import { isPool, nodePgSessionOf, transactionOn, type NodePgClient, type NodePgSessionState, type NodePgTransactionLike } from './drizzle-session-private-state.js';

/**
 * Retry of a transaction: retry options (`maxAttempts`, `baseDelayMs`, `maxDelayMs`,
 * `maxElapsedMs`, `onRetry`, …), `true` for the defaults, `false` for a single attempt.
 *
 * @example
 * const retry: TransactionRetry = { maxAttempts: 5, onRetry: ({ attempt }) => console.warn('OCC retry', attempt) };
 */
export type TransactionRetry = RetryOptions | boolean;

/**
 * Drizzle's `PgTransactionConfig` (kept structural so any drizzle-orm version fits). On DSQL only
 * `isolationLevel: 'repeatable read'` (the only level) and, with node-postgres, `accessMode` and
 * `deferrable` are accepted.
 *
 * @example
 * await db.transaction(fn, { accessMode: 'read only' } satisfies TransactionConfig);
 */
export interface TransactionConfig {
  isolationLevel?: 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable';
  accessMode?: 'read only' | 'read write';
  deferrable?: boolean;
}

/**
 * What a Drizzle Postgres database offers that `transaction()` uses: its `transaction` method.
 *
 * @example
 * const db: TransactionalDatabase = drizzle({ connection: { host } });
 */
export interface TransactionalDatabase {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Drizzle's own signature is generic over its transaction type
  transaction(fn: (tx: any) => Promise<any>, config?: any): Promise<any>;
}

/**
 * The transaction object `db.transaction` hands to its callback.
 *
 * @example
 * async function addPost(tx: TransactionOf<typeof db>) { await tx.insert(posts).values({ title: 'x' }); }
 */
export type TransactionOf<DB extends TransactionalDatabase> = Parameters<Parameters<DB['transaction']>[0]>[0];

interface DatabaseState {
  /** Drizzle's own `db.transaction`, before it was wrapped. */
  readonly original: TransactionalDatabase['transaction'];
  /** Retry of `db.transaction` (`false`: none, Drizzle's behaviour). */
  readonly retry: RetryOptions | false;
  /** Whether nested transactions are refused (`detectNestedTransactions`, default true). */
  readonly detect: boolean;
}

const states = new WeakMap<object, DatabaseState>();

const nestedTransactionRefused = (): Promise<never> =>
  Promise.reject(classifyInPlace(savepointError('tx.transaction()', 'Drizzle nests transactions with SAVEPOINT', 'nested transactions')));

/**
 * The nested-transaction check of this database (@dsql/core's `NestedTransactionGuard`, whose
 * contract it is): its owner is the pool, `sql` or client Drizzle runs on (`db.$client`), so that a
 * transaction started on it — by this package, Drizzle's `db.transaction()`, `pool.transaction()`
 * of @dsql/pg or `sql.begin()` of @dsql/postgres — from inside a running transaction callback is
 * recognised as nested. A `DsqlPool` keys its own scopes by itself, so `pool.transaction()` inside
 * the callback is refused by the same scope.
 */
function nestingOf(db: TransactionalDatabase, state: DatabaseState): NestedTransactionGuard | undefined {
  if (!state.detect) return undefined;
  const client = (db as { $client?: unknown }).$client;
  if (typeof client === 'function') return new NestedTransactionGuard(client, { callback: 'a transaction callback', owner: 'sql' });
  if (typeof client !== 'object' || client === null) return undefined;
  const ctor = (Object.getPrototypeOf(client) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  const owner = typeof ctor === 'string' && ctor.includes('Pool') ? 'pool' : 'client';
  return new NestedTransactionGuard(client, { callback: 'a transaction callback', owner });
}

/**
 * Checks Drizzle's transaction options against what DSQL accepts; returns the ones to pass on.
 * node-postgres sends them with BEGIN (accepted when the level is repeatable read); Drizzle's
 * postgres-js driver with SET TRANSACTION, which DSQL refuses in every form.
 */
function checkConfig(config: TransactionConfig | undefined, postgresJs: boolean): TransactionConfig | undefined {
  if (config === undefined || config === null) return undefined;
  const { isolationLevel, ...rest } = config;
  assertRepeatableRead(
    isolationLevel,
    `db.transaction(fn, { isolationLevel: '${String(isolationLevel)}' })`,
    'Drop isolationLevel (repeatable read is what every transaction gets).',
  );
  const others = Object.entries(rest).filter(([, v]) => v !== undefined);
  if (others.length === 0) return undefined; // repeatable read is the only level: nothing to send
  if (postgresJs) {
    throw new DsqlUnsupportedError(
      'SET TRANSACTION',
      `db.transaction(fn, { ${others.map(([k]) => k).join(', ')} }): drizzle-orm/postgres-js applies transaction options with ` +
        'SET TRANSACTION, which Aurora DSQL refuses in every form. Drop the options, or use the node-postgres driver ' +
        '(@dsql/drizzle), which sends them with BEGIN.',
    );
  }
  return rest;
}

/** Runs `fn` on `tx`, with Drizzle's savepoints (`tx.transaction()`) refused and inside the nested-transaction scope. */
function inScope<T>(tx: object, fn: (tx: never) => Promise<T> | T, nesting: NestedTransactionGuard | undefined): Promise<T> {
  Object.defineProperty(tx, 'transaction', { value: nestedTransactionRefused, configurable: true, writable: true });
  // Another transaction on the same pool or sql started from here would not be part of this one.
  return Promise.resolve(nesting === undefined ? fn(tx as never) : nesting.run(() => fn(tx as never)));
}

const ignoreError = (): void => {};

/** One attempt's connection on node-postgres: the client and Drizzle's transaction object on it. */
interface NodePgAttempt {
  client: NodePgClient;
  tx: NodePgTransactionLike;
}

/**
 * node-postgres: core's runner owns the connection and BEGIN / COMMIT / ROLLBACK (why: see
 * drizzle-session-private-state.ts); they are sent through Drizzle's transaction object, so
 * Drizzle's logger sees them and BEGIN carries Drizzle's options (`accessMode`, `deferrable`).
 */
function nodePgDriver(session: NodePgSessionState, config: TransactionConfig | undefined): TransactionDriver<NodePgAttempt> {
  const pooled = isPool(session);
  return {
    connect: async () => {
      const client = pooled ? await session.client.connect!() : session.client;
      // pg-pool stops listening for a checked-out client's `error`: a connection lost while the
      // transaction holds it (DSQL's 60-minute limit, a failover) would emit an unhandled `error`
      // and end the process, although the pending query rejects with it. A DsqlPool listens
      // itself; a plain pg.Pool brought by the user does not.
      client.on?.('error', ignoreError);
      try {
        return { client, tx: await transactionOn(session, client) };
      } catch (err) {
        client.removeListener?.('error', ignoreError);
        if (pooled) client.release?.();
        throw err;
      }
    },
    begin: async ({ tx }) => void (await tx.execute(sql`begin${config ? sql` ${tx.getTransactionConfigSQL(config)}` : undefined}`)),
    commit: async ({ tx }) => (await tx.execute(sql`commit`)).command,
    rollback: async ({ tx }) => void (await tx.execute(sql`rollback`)),
    // A single client is the user's: never released nor closed here.
    release: ({ client }, destroy) => {
      client.removeListener?.('error', ignoreError);
      if (pooled) client.release?.(destroy);
    },
  };
}

function run<T>(
  db: TransactionalDatabase,
  state: DatabaseState,
  fn: (tx: never) => Promise<T> | T,
  config: TransactionConfig | undefined,
  retry: RetryOptions | boolean,
  called: string,
): Promise<T> {
  // Before anything is checked out or sent: with every connection held by outer transactions,
  // the checkout would wait forever.
  const nesting = nestingOf(db, state);
  const nested = nesting?.refusal(called);
  if (nested) return Promise.reject(classifyInPlace(nested));
  // A Postgres.js `sql` is a function; a node-postgres pool or client an object.
  const postgresJs = typeof (db as { $client?: unknown }).$client === 'function';
  let checked: TransactionConfig | undefined;
  try {
    checked = checkConfig(config, postgresJs);
  } catch (err) {
    return Promise.reject(classifyInPlace(err));
  }
  const session = postgresJs ? undefined : nodePgSessionOf(db);
  // Counted in the stats of the pool or `sql` Drizzle runs on (a DsqlPool's or dsql()'s), as its own transactions are.
  const stats = dsqlStatsRecorderOf((db as { $client?: unknown }).$client);
  const settled = session
    ? runTransaction({ ...nodePgDriver(session, checked), stats }, ({ tx }) => inScope(tx, fn, nesting), retry)
    : // Postgres.js (and other drivers) run BEGIN … COMMIT themselves: core's managed runner
      // decides what a failure after the callback resolved (COMMIT's) means.
      runManagedTransaction(
        ({ commitSent }) =>
          state.original.call(
            db,
            // A connection lost under the callback is recognised by @dsql/postgres through
            // DrizzleQueryError's cause (core's isConnectionLoss): passed on as it is.
            async (tx: object) => {
              const result = await inScope(tx, fn, nesting);
              commitSent();
              return result;
            },
            checked,
          ) as Promise<T>,
        retry,
        undefined,
        stats,
      );
  // The error funnel: what leaves db.transaction() / transaction() carries err.dsql — a
  // DrizzleQueryError too (its `cause`, the driver's error, carries it already).
  return settled.catch((err: unknown) => {
    throw classifyInPlace(err);
  });
}

/**
 * Replaces `db.transaction` of a Drizzle database by the DSQL one (used by both `drizzle()`s).
 * @internal
 */
export function installDsqlTransactions<DB extends TransactionalDatabase>(
  db: DB,
  retry: TransactionRetry | undefined,
  detectNestedTransactions = true,
): DB {
  const resolved = retry === undefined || retry === false ? false : (resolveRetryOptions(retry, 'retry') as RetryOptions | false);
  const state: DatabaseState = { original: db.transaction, retry: resolved, detect: detectNestedTransactions };
  states.set(db, state);
  // dsqlStats(db) answers with the stats of the pool or `sql` under it.
  const client = (db as { $client?: unknown }).$client;
  if ((typeof client === 'object' || typeof client === 'function') && client !== null) aliasDsqlStats(db, client);
  Object.defineProperty(db, 'transaction', {
    configurable: true,
    writable: true,
    value: function transaction<T>(fn: (tx: never) => Promise<T>, config?: TransactionConfig): Promise<T> {
      return run(db, state, fn, config, state.retry, 'db.transaction()');
    },
  });
  return db;
}

/**
 * Runs `fn` in a transaction of a Drizzle database with @dsql/core's transaction runner
 * (`runTransaction` on node-postgres, `runManagedTransaction` on Postgres.js: the contracts are
 * theirs) and **retries it by default**: on an OCC
 * conflict (SQLSTATE 40001, OC000/OC001), or a connection failure before COMMIT was sent, the
 * transaction is rolled back and `fn` runs again, with capped exponential backoff and jitter.
 * `retry` overrides the database's `retry` option (`true`: defaults; `false`: one attempt).
 * Works with a database from either `drizzle()` of this package, and with any Drizzle
 * Postgres database.
 *
 * Contracts:
 * - **`fn` may run more than once**, each time in a fresh transaction: it must not have side
 *   effects outside the database (or they must be idempotent).
 * - A COMMIT whose answer was lost is never retried: it rejects with `CommitOutcomeUnknownError`.
 * - A COMMIT answered ROLLBACK (a statement failed and its error was caught inside `fn`) rejects
 *   with `DsqlTransactionRolledBackError`, not retried.
 * - `tx.transaction()` (a savepoint) rejects at once with `DsqlUnsupportedError`.
 * - Nesting: while `fn` runs, starting another transaction on the same pool, `sql` or client
 *   (`db.$client`) — `transaction(db, …)` again, `db.transaction()` of this or any database of this
 *   package on it, `pool.transaction()` of a `DsqlPool`, `sql.begin()` of a `dsql()` `sql` —
 *   rejects at once with `DsqlUnsupportedError`, before a connection is checked out: it would be a
 *   separate transaction on another connection (never atomic with this one, re-run when this one is
 *   retried, waiting forever for a connection of a full pool). Use `tx`. Not refused: work that
 *   runs after `fn` settled, transactions on another pool or `sql`, plain queries on `db`.
 *   `detectNestedTransactions: false` (a `drizzle()` option) turns the check off.
 * - An isolation level other than repeatable read rejects with `DsqlUnsupportedError`.
 * - On node-postgres, core's runner (`runTransaction`) sends BEGIN / COMMIT / ROLLBACK: on a
 *   pool, each attempt's client is released exactly once (also when BEGIN fails), and closed
 *   instead of reused when its transaction's state is unknown.
 *
 * @example
 * import { drizzle, transaction } from '@dsql/drizzle';
 * import { eq, sql } from 'drizzle-orm';
 *
 * const db = drizzle({ connection: { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' } });
 * await transaction(db, async (tx) => {
 *   await tx.update(counters).set({ n: sql`${counters.n} + 1` }).where(eq(counters.id, 'hits'));
 * });
 */
export function transaction<DB extends TransactionalDatabase, T>(
  db: DB,
  fn: (tx: TransactionOf<DB>) => Promise<T> | T,
  retry?: TransactionRetry,
): Promise<T> {
  // A database not made by this package: Drizzle's own transaction, no retry of its own.
  const state = states.get(db) ?? { original: db.transaction, retry: false, detect: true };
  const policy: RetryOptions | boolean = retry ?? (state.retry === false ? true : state.retry);
  return run(db, state, fn as (tx: never) => Promise<T>, undefined, policy, 'transaction()');
}
