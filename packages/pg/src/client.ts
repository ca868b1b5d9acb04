// pg is CommonJS: its classes are taken from the default import at run time (works on every pg
// 8.x, ESM and CJS), while types come from a namespace import, so the published declarations
// need no esModuleInterop from a CommonJS consumer (a default import there fails with TS1192).
import pgModule from 'pg';
import type * as pg from 'pg';
import {
  classifyInPlace,
  dsqlStats,
  isOccError,
  registerDsqlPool,
  runTransaction,
  unregisterDsqlPool,
  type DsqlConnectionCounts,
  type DsqlStats,
  type DsqlEndpointSession,
  type NestedTransactionGuard,
  type RoutedAttempt,
  type StatementWatch,
  type TransactionDriver,
  type TransactionRetryPolicy,
} from '@dsql/core';
import { describeConnectFailure } from './describe.js';
import { prepareConfig, PREPARED, routeConnection, type DsqlClientConfig, type PgClientOptions, type PreparedDsql } from './config.js';
import { connectRetrying } from './connect-retry.js';
import { forgetPassword, resetConnection, type ConnectionSeed } from './pg-client-private-state.js';
import { nestedTransactionError, nestedTransactionGuard, transactionSteps } from './transaction-steps.js';
import { assertNoSavepoint } from './savepoint-guard.js';
import { emitErrorSafely } from './unhandled-error.js';
import { followedQuery, isFollowable, isSubmittable, type PgQuery } from './followed-query.js';
import { connectionLostError, failQuery } from './refused-query.js';
import { connectAttempt } from './connect-attempt.js';
import { ConnectionUse } from './connection-close.js';

/** pg's `Client` class, typed through the namespace import (see the imports). */
const PgClient: typeof pg.Client = pgModule.Client;

/**
 * Retry options of `transaction()` (`maxAttempts`, `baseDelayMs`, `maxDelayMs`, `maxElapsedMs`,
 * `onRetry`, …); `true` for the defaults, `false` for a single attempt. Default: the `retry` option.
 *
 * @example
 * await pool.transaction(work, { maxAttempts: 5, onRetry: ({ attempt }) => console.warn('OCC retry', attempt) });
 */
export type TransactionRetry = TransactionRetryPolicy;

/**
 * A node-postgres `Client` for Aurora DSQL. Takes the shared DSQL options (or a `postgres://`,
 * `postgresql://` or `dsql://` URL) plus any `pg.Client` option, and connects with an IAM token
 * from the process's cached `TokenProvider` (signed when a connection opens, never per query),
 * TLS verify-full against the cluster hostname (also when `hostaddr` dials an address), through
 * the process-wide connection rate limiter, retrying refused attempts (53400, 53300, cluster
 * waking up, reset) with backoff within `connectionTimeoutMillis` (default 30 s).
 *
 * Server errors keep pg's `DatabaseError` shape and gain `err.dsql = { kind, retryable, hint, … }`.
 *
 * A connection the server closes (DSQL's 60-minute limit, `pg_terminate_backend`, a network
 * failure), idle or mid-query, never ends the process, with or without an `'error'` listener:
 * pending queries reject with pg's error, later ones with `DsqlConnectionLostError` (code
 * `connection-lost`), and the event is emitted as pg does, or reported once per process as a
 * warning when nobody listens (see {@link DsqlClient.emit}).
 *
 * @example
 * const client = new DsqlClient({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' });
 * await client.connect();
 * const { rows } = await client.query('SELECT now()');
 * await client.end();
 */
export class DsqlClient extends PgClient {
  readonly #dsql: PreparedDsql;
  /** Created by a `DsqlPool`: the pool retries refused connects with a fresh client. */
  readonly #pooled: boolean;
  #inTransaction = false;
  /** The error that reported the connection's loss (pg has then stopped taking queries). */
  #lost: Error | undefined;
  /** The endpoint this client's connection goes to (core's failover router chose it), and where its outcome is reported. */
  #attempt: RoutedAttempt<DsqlEndpointSession>;
  /** The password function pg replaces by the token it returned (see forgetPassword). */
  #password: unknown;
  /** A standalone client's own pg options (to retarget a retry at another endpoint). */
  readonly #options: PgClientOptions | undefined;
  /** The nested-transaction check, scoped by the pool (or this standalone client): see `PreparedDsql.scopeOwner`. */
  readonly #nesting: NestedTransactionGuard;
  /** What this client saw of its connection's use, for the diagnostics close reason. */
  readonly #use = new ConnectionUse();
  /**
   * This connection's statements as core's failover router follows them (`endpointProbe.suspectAfterMs`):
   * one left unanswered has its endpoint checked at once. Set only with several endpoints.
   */
  #statements: StatementWatch | undefined;
  /** The connection is open (authenticated, not ended): a standalone client's `stats().connections.open`. */
  #open = false;

  constructor(urlOrConfig?: string | DsqlClientConfig, overrides?: DsqlClientConfig) {
    const pooled = typeof urlOrConfig === 'object' && urlOrConfig !== null && PREPARED in urlOrConfig;
    const prepared = prepareConfig(urlOrConfig, overrides);
    // One client is one connection: core's router says which endpoint it goes to.
    const routed = routeConnection(prepared);
    super(routed.pg);
    this.#password = routed.pg.password;
    this.#attempt = routed.attempt;
    this.#dsql = prepared.dsql;
    this.#options = pooled ? undefined : prepared.pg;
    // A standalone client retries a refused connect on this object (resetConnection).
    if (!pooled) this.#dsql.seed.stream = routed.pg.stream as ConnectionSeed['stream'];
    // A pool's clients share the pool's scope owner (the pool); a standalone client is its own.
    this.#dsql.scopeOwner ??= this;
    this.#pooled = pooled;
    this.#nesting = nestedTransactionGuard(this.#dsql.detectNestedTransactions ? this.#dsql.scopeOwner : undefined);
    this.connection.on('errorMessage', classifyInPlace);
    // A pool's clients count in the pool's stats; a standalone client has its own.
    // pg's Client says nothing of its state: whether it is open is tracked here (idle/used/pending unknown).
    if (!pooled) registerDsqlPool(this, prepared.dsql.session, (c: DsqlClient): DsqlConnectionCounts => ({ open: c.#open ? 1 : 0, idle: null, used: null, pending: null }));
  }

  /**
   * A standalone client's counters, in the shape every `@dsql/*` adapter reports (`DsqlStats` of
   * `@dsql/core`): connection attempts by outcome, rate-limit waits, closes by reason, tokens
   * signed, transactions, retries, OCC conflicts, unknown COMMIT outcomes, failovers.
   * `connections.open` is 1 while its connection is open; `idle`, `used` and `pending` are `null`
   * (pg's `Client` exposes no such state). A client from `DsqlPool.connect()` counts in the
   * pool's `stats()` instead, and has none of its own (`undefined`).
   *
   * @example
   * const client = new DsqlClient({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' });
   * await client.connect();
   * const { connections, connectAttempts, transactions } = client.stats()!;
   */
  stats(): DsqlStats | undefined {
    return dsqlStats(this);
  }


  /**
   * Opens the connection: waits for the shared connection rate limiter, authenticates with a
   * cached IAM token, and retries transient refusals within `connectionTimeoutMillis`.
   */
  override connect(): Promise<this>;
  override connect(callback: (err: Error | undefined) => void): void;
  override connect(callback?: (err: Error | undefined) => void): Promise<this> | void {
    if (!callback) {
      return new Promise<this>((resolve, reject) => this.connect((err) => (err ? reject(err) : resolve(this))));
    }
    if (this.#pooled) return this.#connectOnce((err) => callback(err ? classifyInPlace(err) : undefined));
    connectRetrying<this>(
      (cb) => this.#connectOnce((err) => (err ? cb(err, undefined, () => {}) : cb(undefined, this, () => {}))),
      {
        deadlineMs: this.#dsql.session.connectDeadlineMs,
        describe: (err) => describeConnectFailure(err, this.#dsql.session.config),
        beforeRetry: () => {
          this.#lost = undefined;
          this.#retarget();
          resetConnection(this, this.#dsql.seed, (con) => con.on('errorMessage', classifyInPlace));
        },
      },
      (err) => callback(err),
    );
  }

  /**
   * Before a standalone client's retry: each attempt goes where core's router says, so after its
   * endpoint failed, the retry goes to the next healthy one — with that endpoint's host, port, TLS
   * identity, token and dial address (pg's public `host`, `port`, `password`, `ssl` fields; the
   * connection itself is rebuilt by resetConnection). A pool never needs this: its retry is a new client.
   */
  #retarget(): void {
    if (this.#options === undefined || this.#dsql.session.endpoints.length === 1) return;
    const next = routeConnection({ pg: this.#options, dsql: this.#dsql });
    this.#attempt = next.attempt;
    const seed = this.#dsql.seed;
    seed.stream = next.pg.stream as ConnectionSeed['stream'];
    seed.ssl = next.pg.ssl;
    this.host = next.pg.host!;
    this.port = next.pg.port!;
    this.password = next.pg.password as string;
    this.ssl = next.pg.ssl as typeof this.ssl;
    this.#password = next.pg.password;
  }

  /**
   * Emits like `pg.Client`, except that an `'error'` event nobody listens to does not end the process.
   *
   * pg emits `'error'` when the connection dies (closed by the server, idle or mid-query, or a
   * socket failure), after rejecting the pending queries with that error. With a listener, it gets
   * the event as from `pg.Client`. Without one, `pg.Client` would throw it out of a socket callback
   * (an uncaught exception: the process exits); this client instead calls `events.errorMonitor`
   * listeners and emits a one-time process warning (`DsqlWarning`, code `DSQL_CONNECTION_LOST`).
   * Either way, later queries reject with `DsqlConnectionLostError`.
   *
   * @example
   * client.on('error', (err) => logger.warn({ err: err.message }, 'DSQL connection closed'));
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'error') return super.emit(event, ...args);
    if (this.#lost === undefined && args[0] instanceof Error) this.#lost = args[0];
    return emitErrorSafely(this, 'DsqlClient', args, (...a) => super.emit('error', ...a));
  }

  /**
   * Closes the connection, as `pg.Client#end`; the diagnostics close reason of a connection
   * closed this way is never `server_closed`.
   */
  override end(): Promise<void>;
  override end(callback: (err: Error) => void): void;
  override end(callback?: (err: Error) => void): Promise<void> | void {
    this.#use.endRequested();
    if (!this.#pooled) unregisterDsqlPool(this);
    return callback ? super.end(callback) : super.end();
  }

  /** One attempt: the shared connection rate limiter, then pg's own connect; reported to core's diagnostics probe. */
  #connectOnce(cb: (err: Error | undefined) => void): void {
    const session = this.#dsql.session;
    const { endpoint } = this.#attempt;
    const pgConnect = (done: (err: Error | null | undefined) => void): void => void super.connect(done);
    connectAttempt(this, this.#attempt, session.connectDeadlineMs, pgConnect, {
      opened: () => {
        // Tracked by endpoint, so failover can close it if its endpoint stops answering.
        const closed = this.#dsql.live.opened(endpoint, this);
        const statements = (this.#statements = session.router.watchStatements(endpoint));
        this.#open = true;
        this.once('end', () => {
          this.#open = false;
          closed();
          statements?.close();
        });
        forgetPassword(this, this.#password);
      },
      watch: (connection) => this.#use.watch(this, connection, session, () => this.#lost !== undefined),
    }, cb);
  }

  // Savepoints fail fast while transaction() runs: DSQL would refuse them and the refusal would
  // abort the transaction. Outside transaction() this costs one boolean test. A statement sent
  // after the connection was lost fails with DsqlConnectionLostError (streams and cursors are
  // left to pg, whose error reaches them through their own events). Installed on the
  // prototype from a static block (which may read `#inTransaction`) rather than declared as a
  // method, so that DsqlClient keeps pg's typed `query` overloads.
  static {
    const pgQuery = PgClient.prototype.query as PgQuery;
    Object.defineProperty(DsqlClient.prototype, 'query', {
      configurable: true,
      writable: true,
      value: function query(this: DsqlClient, config: unknown, values?: unknown, callback?: unknown): unknown {
        if (this.#lost !== undefined && !isSubmittable(config)) return failQuery(values, callback, connectionLostError(this.#lost, this.#pooled));
        this.#use.used();
        if (this.#inTransaction) {
          try {
            assertNoSavepoint(config);
          } catch (err) {
            return failQuery(values, callback, err as Error);
          }
        }
        const statements = this.#statements;
        if (statements !== undefined && isFollowable(config)) return followedQuery(this, pgQuery, statements, config, values, callback);
        return pgQuery.call(this, config, values, callback);
      },
    });
  }

  /**
   * Runs `fn` in a transaction (BEGIN … COMMIT) on this connection and returns its result.
   *
   * Retry contract (@dsql/core's transaction runner): on an OCC conflict (40001, OC000/OC001) the
   * transaction is rolled back and `fn` runs again, with capped exponential backoff and jitter
   * (`retry` options, else the client's `retry` option; `false` makes one attempt). **`fn` may
   * therefore run more than once: it must not have side effects outside the database.** Any other
   * error rolls back and is thrown. If COMMIT was sent and its answer lost,
   * `CommitOutcomeUnknownError` is thrown and never retried (the changes may be committed). If
   * ROLLBACK fails, the connection is closed.
   * Savepoints and nested `transaction()` calls fail fast with `DsqlUnsupportedError`, and so
   * does this method when called from inside a running `transaction()` callback of the pool this
   * client came from (another client's, or `pool.transaction()`'s): use the callback's `tx`.
   *
   * @example
   * const id = await client.transaction(async (tx) => {
   *   const { rows } = await tx.query('INSERT INTO orders (total) VALUES ($1) RETURNING id', [42]);
   *   return rows[0].id;
   * });
   */
  async transaction<T>(fn: (client: this) => Promise<T> | T, retry?: TransactionRetry): Promise<T> {
    if (this.#inTransaction) throw nestedTransactionError('client.transaction()');
    this.#nesting.assert('client.transaction()');
    const driver: TransactionDriver<this> = {
      stats: this.#dsql.session.stats,
      // A connection lost mid-transaction fails the pending query; `emit` keeps the event from
      // ending the process.
      connect: async () => this,
      ...transactionSteps,
      release: async (_client, destroy) => {
        if (destroy) await this.end().catch(() => undefined);
      },
    };
    // A standalone client cannot replace a dead connection, so only OCC conflicts are retried by default.
    return runTransaction(driver, (c) => this._dsqlInTransaction(c, fn), retry ?? this.#dsql.retry, isOccError).catch((err: unknown) => {
      throw classifyInPlace(err);
    });
  }

  /**
   * Runs a transaction callback with the savepoint / nesting guards on.
   * @internal
   */
  async _dsqlInTransaction<T>(client: this, fn: (client: this) => Promise<T> | T): Promise<T> {
    if (this.#inTransaction) throw nestedTransactionError('transaction()');
    this.#inTransaction = true;
    try {
      return await this.#nesting.run(() => fn(client));
    } finally {
      this.#inTransaction = false;
    }
  }
}

/**
 * A `DsqlClient` as `DsqlPool.connect()` hands it out, with pg-pool's `release()`.
 *
 * @example
 * const client: DsqlPoolClient = await pool.connect();
 * try { await client.query('SELECT 1'); } finally { client.release(); }
 */
export interface DsqlPoolClient extends DsqlClient {
  /** Returns the client to the pool; pass an error (or `true`) to close it instead. */
  release(err?: Error | boolean): void;
}
