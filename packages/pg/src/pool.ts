// Runtime class from pg's default import, types from a namespace import (see client.ts).
import pgModule from 'pg';
import type * as pg from 'pg';
import {
  classifyInPlace,
  dsqlStats,
  isOccError,
  registerDsqlPool,
  runTransaction,
  unregisterDsqlPool,
  withRetry,
  type DsqlConnectionCounts,
  type DsqlStats,
  type NestedTransactionGuard,
  type RetryOptions,
  type TransactionDriver,
} from '@dsql/core';
import { guardCheckout } from './checkout-guard.js';
import { DsqlClient, type DsqlPoolClient, type TransactionRetry } from './client.js';
import { prepareConfig, type DsqlPoolConfig, type PreparedDsql } from './config.js';
import { connectRetrying } from './connect-retry.js';
import { describeConnectFailure } from './describe.js';
import { isRetiredAfterFailback } from './endpoint-drain.js';
import { jitterMaxLifetime } from './lifetime.js';
import { nestedTransactionGuard, transactionSteps } from './transaction-steps.js';
import { emitErrorSafely } from './unhandled-error.js';
import { isSubmittable } from './followed-query.js';

/** pg's `Pool` class, typed through the namespace import. */
const PgPool: typeof pg.Pool = pgModule.Pool;

type ConnectCallback = (err: Error | undefined, client: DsqlPoolClient | undefined, done: (release?: unknown) => void) => void;

/** pg-pool's public counters as core's connection counts (a static function: the registry must not hold the pool). */
function connectionCounts(pool: pg.Pool): DsqlConnectionCounts {
  return { open: pool.totalCount, idle: pool.idleCount, used: pool.totalCount - pool.idleCount, pending: pool.waitingCount };
}

/**
 * A node-postgres `Pool` for Aurora DSQL, usable wherever a `pg.Pool` is accepted (Drizzle's
 * `node-postgres` driver, Kysely's `PostgresDialect`, Prisma's adapter-pg, TypeORM…).
 *
 * Takes the shared DSQL options (or a URL) plus every `pg.Pool` option. What it adds:
 * - the password is an async function backed by a shared, caching `TokenProvider`: it runs only
 *   when a physical connection opens; a checkout or `pool.query()` does no token or credential work;
 * - TLS verify-full against the cluster hostname, also when `hostaddr` dials an address;
 * - each connection draws its own max lifetime from `maxLifetimeSeconds` (default 2700–3300 s)
 *   and is retired when idle, never mid-query;
 * - new connections pass the process-wide connection rate limiter, and a refused attempt
 *   (53400, 53300, waking up, reset) is retried with backoff within `connectionTimeoutMillis`;
 * - `transaction(fn, retry?)` with OCC retry; opt-in `queryRetry` for autocommit `pool.query()`;
 * - `transaction()` called from inside a running transaction callback of the same pool fails
 *   fast with `DsqlUnsupportedError` (`detectNestedTransactions: false` turns that off);
 * - server errors gain `err.dsql` (`{ kind, retryable, hint, … }`);
 * - a connection the server closes (idle in the pool, or checked out) never ends the process, with
 *   or without an `'error'` listener: see {@link DsqlPool.emit}.
 *
 * @example
 * const pool = new DsqlPool({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', max: 8 });
 * const { rows } = await pool.query('SELECT 1 AS one');
 * await pool.transaction(async (tx) => { await tx.query('UPDATE t SET n = n + 1 WHERE id = $1', [1]); });
 * await pool.end();
 */
export class DsqlPool extends PgPool {
  readonly #dsql: PreparedDsql;
  /** The nested-transaction check of this pool (its clients share it through `scopeOwner`). */
  readonly #nesting: NestedTransactionGuard;

  constructor(urlOrConfig?: string | DsqlPoolConfig, overrides?: DsqlPoolConfig) {
    const prepared = prepareConfig(urlOrConfig, overrides);
    super({ ...prepared.pg, Client: DsqlClient as unknown as pg.PoolConfig['Client'] });
    this.#dsql = prepared.dsql;
    this.#dsql.scopeOwner = this;
    this.#nesting = nestedTransactionGuard(prepared.dsql.detectNestedTransactions ? this : undefined);
    jitterMaxLifetime(this as unknown as { options: { maxLifetimeSeconds?: number } }, prepared.dsql.session.lifetime);
    // After failback (endpointProbe.drainAfterFailbackMs), idle connections elsewhere close now, busy ones at release.
    prepared.dsql.live.watchPool(this);
    if (prepared.dsql.queryRetry) this.#enableQueryRetry(prepared.dsql.queryRetry);
    // stats() and @dsql/opentelemetry's db.client.connection.count read pg-pool's public counters.
    registerDsqlPool(this, prepared.dsql.session, connectionCounts);
  }

  /**
   * The pool's counters, in the shape every `@dsql/*` adapter reports (`DsqlStats` of
   * `@dsql/core`): connections by state (pg-pool's `totalCount`, `idleCount`, `waitingCount`),
   * connection attempts by outcome, rate-limit waits, closes by reason, tokens signed,
   * transactions and their attempts, retries, OCC conflicts, unknown COMMIT outcomes, failovers.
   * The same numbers `@dsql/opentelemetry` exports as metrics.
   *
   * @example
   * const { connections, connectAttempts, transactions } = pool.stats();
   * console.log(connections.idle, connectAttempts.refused, transactions.occConflicts);
   */
  stats(): DsqlStats {
    return dsqlStats(this)!;
  }

  /**
   * Emits like `pg.Pool`, except that an `'error'` event nobody listens to does not end the process.
   *
   * pg-pool emits `'error'` (`(err, client)`) when an idle connection dies — DSQL closes
   * connections at its 60-minute limit and when it replaces a component, and `pg_terminate_backend`
   * or a network failure do too — and this pool emits it as well for a checked-out connection
   * that dies (see {@link DsqlPool.connect}). pg-pool has already removed that connection, so the
   * next query opens a new one. With an `'error'` listener, the listener gets the event exactly as
   * with `pg.Pool`. Without one, `pg.Pool` would throw it out of a socket callback (an uncaught
   * exception: the process exits); this pool instead calls `events.errorMonitor` listeners and
   * emits a one-time process warning (`DsqlWarning`, code `DSQL_CONNECTION_LOST`).
   *
   * @example
   * pool.on('error', (err) => logger.warn({ err: err.message }, 'DSQL connection closed; the pool replaces it'));
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'error') return super.emit(event, ...args);
    // An idle connection closed on purpose after failback is not a lost connection.
    if (isRetiredAfterFailback(args[0])) return true;
    return emitErrorSafely(this, 'DsqlPool', args, (...a) => super.emit('error', ...a));
  }

  /**
   * Closes the pool as `pg.Pool#end` does, and stops the background probes of failover between
   * `endpoints` (nothing else of the pool's session outlives it).
   *
   * @example
   * await pool.end();
   */
  override end(): Promise<void>;
  override end(callback: () => void): void;
  override end(callback?: () => void): Promise<void> | void {
    this.#dsql.session.router.close();
    unregisterDsqlPool(this);
    return callback ? super.end(callback) : super.end();
  }

  /**
   * Checks a client out. A new connection that is refused for a transient reason is retried
   * (a fresh client each time) with backoff within `connectionTimeoutMillis`; a reused idle
   * connection costs nothing extra.
   *
   * A connection that dies while the client is checked out never ends the process: the
   * pending query (if any) rejects, later queries on the client reject with
   * `DsqlConnectionLostError`, the error is emitted on the pool (`pool.on('error', (err,
   * client) => …)`, as pg-pool does for idle clients) unless the holder listens on the client
   * itself, and `release()` closes the broken client instead of returning it to the pool.
   */
  override connect(): Promise<DsqlPoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<DsqlPoolClient> | void {
    if (!callback) {
      return new Promise<DsqlPoolClient>((resolve, reject) =>
        this.connect((err, client) => (err ? reject(err) : resolve(client!))),
      );
    }
    connectRetrying<DsqlPoolClient>(
      (cb) => super.connect(cb as Parameters<pg.Pool['connect']>[0]),
      { deadlineMs: this.#dsql.session.connectDeadlineMs, describe: (err) => describeConnectFailure(err, this.#dsql.session.config) },
      (err, client, done) => (client ? callback(undefined, client, guardCheckout(this, client)) : callback(err, client, done)),
    );
  }

  /**
   * Runs `fn` in a transaction on a pooled connection and returns its result.
   *
   * Retry contract (@dsql/core's transaction runner): on an OCC conflict (40001, OC000/OC001), or a transient failure before COMMIT
   * was sent (connection lost, server unavailable), the transaction is rolled back and `fn` runs
   * again on a pooled connection, with capped exponential backoff and jitter (`retry`
   * options, or the pool's `retry` option; `false` makes one attempt). **`fn` may run more than
   * once: it must not have side effects outside the database.** Any other error rolls back and
   * is thrown. A COMMIT whose answer was lost throws `CommitOutcomeUnknownError` and is never
   * retried. A connection whose ROLLBACK (or COMMIT) failed is destroyed, not returned to the
   * pool. Savepoints and `transaction()` on the callback's client fail fast with
   * `DsqlUnsupportedError`.
   *
   * Nesting contract: called from inside a running `transaction()` callback of this pool (its own
   * or a checked-out client's), `pool.transaction()` rejects at once with `DsqlUnsupportedError`,
   * before a connection is checked out — it would not be part of the open transaction (DSQL has
   * no savepoints) but a separate one on another connection. Use the callback's `tx` instead.
   * A timer or handler scheduled inside a callback that runs after the callback finished is not
   * inside it; neither is a transaction of another pool. `pool.query()` and `pool.connect()` are
   * not checked (a deliberate read outside the transaction is legitimate). The check keeps an
   * `AsyncLocalStorage` entered while a callback runs (on Node 20/22 every promise of the process
   * pays async-hook work meanwhile); `detectNestedTransactions: false` turns it off.
   *
   * @example
   * await pool.transaction(async (tx) => {
   *   await tx.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [10, from]);
   *   await tx.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [10, to]);
   * });
   */
  async transaction<T>(fn: (client: DsqlPoolClient) => Promise<T> | T, retry?: TransactionRetry): Promise<T> {
    this.#nesting.assert('pool.transaction()');
    const driver: TransactionDriver<DsqlPoolClient> = {
      stats: this.#dsql.session.stats,
      // A connection lost mid-transaction fails the pending query; connect()'s checkout guard
      // keeps the client's 'error' event from ending the process and reports it on the pool.
      connect: () => this.connect(),
      ...transactionSteps,
      // A connection whose ROLLBACK failed, or whose COMMIT answer was lost, is closed, not reused.
      release: (client, destroy) => {
        client.release(destroy ? new Error('connection discarded after a failed transaction end') : undefined);
      },
    };
    return runTransaction(driver, (client) => client._dsqlInTransaction(client, fn), retry ?? this.#dsql.retry).catch((err: unknown) => {
      throw classifyInPlace(err);
    });
  }

  /** Replaces `query` on this instance by one that retries OCC conflicts (autocommit statements only). */
  #enableQueryRetry(options: RetryOptions): void {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const plainQuery = PgPool.prototype.query as (this: pg.Pool, ...args: any[]) => any;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const query = (text: any, values?: any, callback?: any): any => {
      if (isSubmittable(text) || typeof values === 'function' || typeof callback === 'function') {
        // Callback and streaming forms are passed on as they are: their results can't be replayed.
        return plainQuery.call(this, text, values, callback);
      }
      return withRetry(() => plainQuery.call(this, text, values) as Promise<pg.QueryResult>, {
        ...options,
        retryOn: isOccError,
      });
    };
    Object.defineProperty(this, 'query', { value: query, configurable: true, writable: true });
  }
}
