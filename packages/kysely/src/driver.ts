import {
  ConnectionTransaction,
  assertRepeatableRead,
  classifyInPlace,
  isConnectionLoss,
  isInTransactionScope,
  savepointError,
  transactionStatements,
  type NestedTransactionGuard,
} from '@dsql/core';
import type { CompiledQuery, DatabaseConnection, Driver, QueryResult, TransactionSettings } from 'kysely';
// DSQL's asynchronous jobs (CREATE INDEX ASYNC, …) live in core's migration toolkit.
import { DsqlJobError, jobIdOf, waitForJobSql } from '@dsql/core/migrations';
import type { DsqlSession, SessionResult, SessionSource } from './session.js';

/** What the driver needs besides a session source. */
export interface DsqlDriverOptions {
  /** Wait for `CREATE INDEX ASYNC` (and other DDL jobs) to finish before answering. */
  readonly waitForIndexes: boolean;
  /** Runs each time a session is checked out for Kysely. */
  readonly onReserveConnection?: ((connection: DatabaseConnection) => Promise<void>) | undefined;
  /** Nested-transaction check (`detectNestedTransactions`); none: not checked. */
  readonly nest?: NestedTransactionGuard | undefined;
}

/**
 * A session checked out on first use. Inside an open transaction scope of the owner, Kysely asks
 * for a connection before `beginTransaction` says what it is for: a nested transaction must fail
 * before a connection is taken (with `max: 1` the checkout would wait forever), while a plain
 * query on the outer database stays legitimate.
 */
class DeferredSession implements DsqlSession {
  readonly #acquire: () => Promise<DsqlSession>;
  #session: Promise<DsqlSession> | undefined;

  constructor(acquire: () => Promise<DsqlSession>) {
    this.#acquire = acquire;
  }

  #get(): Promise<DsqlSession> {
    return (this.#session ??= this.#acquire());
  }

  async query(sql: string, parameters: readonly unknown[]): Promise<SessionResult> {
    return (await this.#get()).query(sql, parameters);
  }

  async *stream(sql: string, parameters: readonly unknown[], chunkSize: number): AsyncIterableIterator<Record<string, unknown>[]> {
    const session = await this.#get();
    if (!session.stream) throw new Error('@dsql/kysely: this driver cannot stream results.');
    yield* session.stream(sql, parameters, chunkSize);
  }

  async cancel(): Promise<void> {
    // Nothing was checked out, so nothing runs; once checked out, the session decides.
    if (this.#session === undefined) return;
    await (await this.#session).cancel?.();
  }

  async release(destroy: boolean): Promise<void> {
    if (this.#session === undefined) return;
    const session = await this.#session.catch(() => undefined);
    await session?.release(destroy);
  }
}

/** Statements whose numbers of affected rows Kysely reports. */
const COUNTED = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** BEGIN / COMMIT / ROLLBACK as @dsql/core writes them, sent on a Kysely connection. */
const STATEMENTS = transactionStatements(async (c: DsqlConnection, sql: string) => (await c.run(sql)).command);

/** One Kysely connection: a session, its transaction state (core's) and pending index jobs. */
export class DsqlConnection implements DatabaseConnection {
  readonly session: DsqlSession;
  readonly #options: DsqlDriverOptions;
  /** BEGIN … COMMIT / ROLLBACK on this connection, and whether it must be closed, not reused. */
  readonly tx: ConnectionTransaction<DsqlConnection> = new ConnectionTransaction(STATEMENTS, this);
  /** Jobs started inside the open transaction: waited for after COMMIT. */
  pendingJobs: string[] = [];

  constructor(session: DsqlSession, options: DsqlDriverOptions) {
    this.session = session;
    this.#options = options;
  }

  /** Runs a statement; a lost connection marks the session for discard. */
  async run(sql: string, parameters: readonly unknown[] = []): Promise<SessionResult> {
    if (this.tx.lostWith !== undefined) throw this.tx.lostWith;
    if (this.tx.discard) throw new Error('@dsql/kysely: this connection was discarded (its state is unknown); use a new one.');
    try {
      return await this.session.query(sql, parameters);
    } catch (err) {
      if (isConnectionLoss(err)) this.tx.connectionLost(err);
      // The error funnel: every statement's error leaves with err.dsql (whatever the driver).
      throw classifyInPlace(err);
    }
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.run(compiledQuery.sql, compiledQuery.parameters);
    const jobId = this.#options.waitForIndexes ? jobIdOf(result) : undefined;
    if (jobId !== undefined) {
      // Inside a transaction the job cannot finish before COMMIT: wait for it afterwards.
      if (this.tx.open) this.pendingJobs.push(jobId);
      else await this.waitForJob(jobId);
    }
    const verb = result.command?.split(' ')[0]?.toUpperCase();
    return {
      rows: result.rows as R[],
      ...(verb !== undefined && COUNTED.has(verb) && result.rowCount !== undefined ? { numAffectedRows: BigInt(result.rowCount) } : {}),
    };
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new TypeError(`Invalid chunkSize: got ${String(chunkSize)}; expected a positive integer.`);
    if (!this.session.stream) throw new Error('@dsql/kysely: this driver cannot stream results.');
    try {
      for await (const rows of this.session.stream(compiledQuery.sql, compiledQuery.parameters, chunkSize)) {
        yield { rows: rows as R[] };
      }
    } catch (err) {
      throw classifyInPlace(err);
    }
  }

  /**
   * Kysely 0.29's `inflightQueryAbortStrategy: 'cancel query'`: when the query's `signal` aborts,
   * the statement running on this connection is cancelled on the server with PostgreSQL's
   * CancelRequest (a second TLS connection to the same endpoint carrying this connection's cancel
   * key; no pooled connection is taken, so it works with `max: 1`). The statement fails with
   * 57014 and Kysely releases the connection once it has. Inside a transaction the transaction
   * is then aborted, as any failed statement aborts it. Kysely's `controlConnectionProvider` is
   * not used. Rejects (Kysely logs it; the statement runs on) when the request could not be sent.
   */
  async cancelQuery(): Promise<void> {
    if (!this.session.cancel) throw new Error('@dsql/kysely: this driver cannot cancel a running statement.');
    await this.session.cancel();
  }

  /** `CALL sys.wait_for_job(id)`: returns when the job is done, throws a `DsqlJobError` when it failed. */
  async waitForJob(jobId: string): Promise<void> {
    try {
      await this.run(waitForJobSql(jobId));
    } catch (err) {
      throw classifyInPlace(new DsqlJobError(jobId, err));
    }
  }
}

/**
 * Kysely `Driver` for Aurora DSQL over a {@link SessionSource} (a `DsqlPool` or a Postgres.js
 * `sql`). What it does differently from Kysely's `PostgresDriver`:
 * - isolation levels other than repeatable read (DSQL's only one) and savepoints fail before
 *   anything is sent, with @dsql/core's `DsqlUnsupportedError` saying what to do instead;
 * - BEGIN / COMMIT / ROLLBACK are @dsql/core's `ConnectionTransaction` on each connection: a
 *   COMMIT whose answer was lost becomes a `CommitOutcomeUnknownError` (never retried), a COMMIT
 *   answered `ROLLBACK` a `DsqlTransactionRolledBackError`; a failed ROLLBACK (or a lost
 *   connection) discards the connection instead of reusing it, and does not replace the error
 *   that caused the rollback;
 * - a DDL statement that starts a job (`CREATE INDEX ASYNC`) waits for it (`waitForIndexes`).
 */
export class DsqlDriver implements Driver {
  readonly #source: SessionSource;
  readonly #options: DsqlDriverOptions;

  constructor(source: SessionSource, options: DsqlDriverOptions) {
    this.#source = source;
    this.#options = options;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const owner = this.#options.nest?.owner();
    if (owner !== undefined && isInTransactionScope(owner)) {
      return new DsqlConnection(new DeferredSession(() => this.#checkOut().then((c) => c.session)), this.#options);
    }
    return this.#checkOut();
  }

  async #checkOut(): Promise<DsqlConnection> {
    const session = await this.#source.acquire().catch((err: unknown) => {
      throw classifyInPlace(err);
    });
    const connection = new DsqlConnection(session, this.#options);
    if (this.#options.onReserveConnection) {
      try {
        await this.#options.onReserveConnection(connection);
      } catch (err) {
        await connection.session.release(true);
        throw err;
      }
    }
    return connection;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = connection as DsqlConnection;
    // Before anything is sent, and (see DeferredSession) before a connection is checked out.
    try {
      this.#options.nest?.assert('db.transaction() / db.startTransaction()');
      assertRepeatableRead(
        settings.isolationLevel,
        `setIsolationLevel('${String(settings.isolationLevel)}')`,
        "Remove setIsolationLevel(), or pass 'repeatable read'; retry OCC conflicts (40001) with transaction() from @dsql/kysely.",
      );
    } catch (err) {
      throw classifyInPlace(err);
    }
    await c.tx.begin(settings.accessMode);
    c.pendingJobs = [];
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as DsqlConnection;
    try {
      await c.tx.commit();
    } catch (err) {
      throw classifyInPlace(err);
    }
    const jobs = c.pendingJobs;
    c.pendingJobs = [];
    for (const job of jobs) await c.waitForJob(job);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as DsqlConnection;
    c.pendingJobs = [];
    await c.tx.rollback();
  }

  async savepoint(): Promise<void> {
    throw classifyInPlace(savepointError('savepoint()'));
  }

  async rollbackToSavepoint(): Promise<void> {
    throw classifyInPlace(savepointError('rollbackToSavepoint()'));
  }

  async releaseSavepoint(): Promise<void> {
    throw classifyInPlace(savepointError('releaseSavepoint()'));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = connection as DsqlConnection;
    await c.session.release(c.tx.discard);
  }

  async destroy(): Promise<void> {
    await this.#source.end();
  }
}
