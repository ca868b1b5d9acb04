import pg from 'pg';
import { DsqlUnsupportedError, withRetry, type RetryOptions } from '@dsql/core';
import { classifyInPlace } from './classify.js';
import { prepareConfig, PREPARED, type DsqlClientConfig, type PreparedDsql } from './config.js';
import { assertNoSavepoint } from './savepoint-guard.js';
import { attemptTransaction } from './transaction.js';
import { reconnectable } from './reconnect.js';

/** Options of `client.transaction()` / `pool.transaction()`: retry options, or `false` for one attempt. */
export type TransactionRetry = Partial<RetryOptions> | false;

type Callback = (err: Error | null | undefined, ...rest: unknown[]) => void;

function nestedTransactionError(): DsqlUnsupportedError {
  return new DsqlUnsupportedError(
    'nested transactions',
    'transaction() was called while a transaction is already open on this connection; ' +
      'Aurora DSQL has no nested transactions or savepoints. Do the work inside the open transaction, ' +
      'or run it as its own transaction after this one ends.',
  );
}

/** Calls `callback` (last argument, if a function) or returns a rejected promise: pg's two error styles. */
function failQuery(args: readonly unknown[], err: Error): Promise<never> | undefined {
  const last = args[args.length - 1];
  if (typeof last === 'function') {
    process.nextTick(() => (last as Callback)(err));
    return undefined;
  }
  return Promise.reject(err);
}

/**
 * A node-postgres `Client` for Aurora DSQL. Takes the shared DSQL options (or a `postgres://`,
 * `postgresql://` or `dsql://` URL) plus any `pg.Client` option, and connects with an IAM token
 * from a cached `TokenProvider` (signed when a connection opens, never per query), TLS
 * verify-full against the cluster hostname (also when `hostaddr` dials an address), through the
 * process-wide connection rate limiter, retrying refused connection attempts (53400, 53300,
 * cluster waking up, reset) with backoff within `connectionTimeoutMillis`.
 *
 * Server errors keep pg's `DatabaseError` shape and gain `err.dsql = { kind, retryable, hint, … }`.
 *
 * @example
 * const client = new DsqlClient({ host: 'abc…xyz.dsql.us-east-1.on.aws' });
 * await client.connect();
 * const { rows } = await client.query('SELECT now()');
 * await client.end();
 */
export class DsqlClient extends pg.Client {
  readonly #dsql: PreparedDsql;
  #inTransaction = false;

  constructor(urlOrConfig?: string | DsqlClientConfig, overrides?: DsqlClientConfig) {
    const prepared = prepareConfig(urlOrConfig, overrides, 'client');
    super(prepared.pg);
    this.#dsql = prepared.dsql;
    this.connection.on('errorMessage', classifyInPlace);
  }

  /** Opens the connection (rate limited; transient refusals retried within `connectionTimeoutMillis`). */
  override connect(): Promise<this>;
  override connect(callback: (err: Error | null | undefined, client?: this) => void): void;
  override connect(callback?: (err: Error | null | undefined, client?: this) => void): Promise<this> | void {
    if (!callback) {
      return new Promise<this>((resolve, reject) => this.connect((err) => (err ? reject(err) : resolve(this))));
    }
    const attempt = (cb: (err: Error | null | undefined) => void): void => this.#connectOnce(cb);
    if (this.#dsql.owner === 'pool') {
      // A pool's client: the pool retries with a fresh client, so this makes one attempt.
      return attempt((err) => callback(err ? classifyInPlace(err) : err, err ? undefined : this));
    }
    reconnectable(this, attempt, this.#dsql.connectRetry, (err) => callback(err ?? null, err ? undefined : this));
  }

  /** One attempt: wait for the shared connection rate limiter, then pg's own connect. */
  #connectOnce(cb: (err: Error | null | undefined) => void): void {
    const limiter = this.#dsql.limiter;
    if (!limiter) return super.connect(cb);
    limiter.acquire().then(
      () => {
        // pg-pool's connectionTimeoutMillis destroys the (not yet connected) socket when it fires.
        if (this.connection.stream.destroyed) return cb(new Error('timeout expired while waiting for the connection rate limiter'));
        super.connect(cb);
      },
      (err: Error) => cb(err),
    );
  }

  /** Re-registers what `DsqlClient` listens to after `reconnect.ts` gave this client a fresh connection. */
  protected _dsqlAttachConnection(): void {
    this.connection.on('errorMessage', classifyInPlace);
  }

  // Savepoints fail fast while a transaction() is open: DSQL would refuse them and abort the
  // transaction. Outside transaction() this is one boolean test.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(config: any, values?: any, callback?: any): any {
    if (this.#inTransaction) {
      try {
        assertNoSavepoint(config);
      } catch (err) {
        return failQuery([config, values, callback].filter((a) => a !== undefined), err as Error);
      }
    }
    return super.query(config, values, callback);
  }

  /**
   * Runs `fn` in a transaction (BEGIN … COMMIT) on this connection and returns its result.
   *
   * Retry contract: on an OCC conflict (40001, OC000/OC001) the whole transaction is rolled back
   * and `fn` runs again, with capped exponential backoff and jitter (`retry` options, or the
   * client's `retry` option; `false` makes one attempt). **`fn` may therefore run more than
   * once: it must not have side effects outside the database.** Any other error rolls back and
   * is thrown. If COMMIT was sent and its answer lost, `CommitOutcomeUnknownError` is thrown and
   * never retried (the changes may be committed). If ROLLBACK fails the connection is closed.
   * Savepoints and nested `transaction()` calls fail fast with `DsqlUnsupportedError`.
   *
   * @example
   * const id = await client.transaction(async (tx) => {
   *   const { rows } = await tx.query('INSERT INTO orders (total) VALUES ($1) RETURNING id', [42]);
   *   return rows[0].id;
   * });
   */
  async transaction<T>(fn: (client: this) => Promise<T> | T, retry?: TransactionRetry): Promise<T> {
    if (this.#inTransaction) throw nestedTransactionError();
    const options = retry === undefined ? this.#dsql.retry : retry;
    const once = async (): Promise<T> => {
      const outcome = await this._dsqlAttempt(fn);
      if (outcome.broken) await this.end().catch(() => undefined);
      if (!outcome.ok) throw classifyInPlace(outcome.error);
      return outcome.value;
    };
    return options === false ? once() : withRetry(once, options);
  }

  /**
   * One transaction attempt on this connection (used by `DsqlPool.transaction`, which decides
   * what to do with a broken connection). Internal.
   * @internal
   */
  async _dsqlAttempt<T>(fn: (client: this) => Promise<T> | T): ReturnType<typeof attemptTransaction<this, T>> {
    if (this.#inTransaction) throw nestedTransactionError();
    return attemptTransaction(this, async (c) => {
      this.#inTransaction = true;
      try {
        return await fn(c);
      } finally {
        this.#inTransaction = false;
      }
    });
  }
}

/** `DsqlClient` as handed out by `DsqlPool.connect()`: with `release()`. */
export interface DsqlPoolClient extends DsqlClient {
  /** Returns the client to the pool; pass an error (or `true`) to close it instead. */
  release(err?: Error | boolean): void;
}

/** Marks an options object as already prepared by a `DsqlPool` (its clients skip resolution). */
export { PREPARED };
