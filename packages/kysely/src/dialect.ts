import {
  DSQL_SESSION,
  DsqlConfigError,
  createDsqlSession,
  dsqlStats,
  resolveDetectNestedTransactions,
  type DsqlStats,
  type NestedTransactionGuard,
  type RetryOptions,
} from '@dsql/core';
import type { DsqlPoolConfig } from '@dsql/pg';
import type { DatabaseConnection, DatabaseIntrospector, Dialect, DialectAdapter, Driver, Kysely, QueryCompiler } from 'kysely';
import { DsqlAdapter } from './adapter.js';
import { DsqlDriver } from './driver.js';
import { DsqlIntrospector } from './introspector.js';
import { nestGuard } from './transaction.js';
import type { DetachedQuery } from '@dsql/core/migrations';
import { resolveMigrationLockConfig, type MigrationLockConfig, type ResolvedMigrationLockConfig } from './migration-lock.js';
import { pgSource, type PgCursorConstructor, type PgPoolLike } from './pg-source.js';
import { postgresSource, type PostgresSqlLike } from './postgres-source.js';
import { checkIdentityCache, DsqlQueryCompiler } from './query-compiler.js';
import type { SessionSource } from './session.js';

/**
 * Options of {@link DsqlDialect} that do not depend on the driver.
 *
 * @example
 * const options: DsqlDialectOptions = { waitForIndexes: true, migrationLock: { leaseSeconds: 600 }, retry: { maxAttempts: 5 } };
 */
export interface DsqlDialectOptions {
  /**
   * Wait for the job of `CREATE INDEX ASYNC` (and of any DDL statement answering a `job_id`)
   * with `CALL sys.wait_for_job(…)` before the statement's promise resolves, so a migration's
   * next step sees the index built. Inside a transaction the wait happens after COMMIT.
   * Default `true`; a failed index build then rejects. `false` returns the `job_id` row at once.
   */
  waitForIndexes?: boolean;
  /** The Migrator's lock on DSQL (lease length, how long to wait for it, polling). */
  migrationLock?: MigrationLockConfig;
  /** `CACHE` written for identity columns: `1` (default) or `>= 65536`, the values DSQL accepts. */
  identityCache?: number;
  /**
   * Default OCC retry of {@link transaction} for this database (retry options, `true` for the
   * defaults, `false` for one attempt). Default `true`.
   */
  retry?: RetryOptions | boolean;
  /**
   * Called each time a connection is checked out for Kysely (a query, a transaction, a
   * Migrator run), before it is used. For once-per-physical-connection setup, use the pool's
   * own hook (`pool.on('connect', …)` of node-postgres, `connection` options of Postgres.js).
   */
  onReserveConnection?: (connection: DatabaseConnection) => Promise<void>;
  /**
   * Refuse nested transactions: a transaction started on this database's pool or `sql` (with
   * {@link transaction}, Kysely's `db.transaction()` / `db.startTransaction()`, `pool.transaction()`
   * of @dsql/pg or `sql.begin()` of @dsql/postgres) from inside a running {@link transaction}
   * callback of the same pool or `sql` fails at once with `DsqlUnsupportedError`, before a
   * connection is checked out. Default `true`; `false` turns the check off (and the
   * `AsyncLocalStorage` it keeps entered while a callback runs). The pool's or `sql`'s own
   * `detectNestedTransactions` governs its own methods.
   */
  detectNestedTransactions?: boolean;
}

/**
 * Bring a node-postgres pool: a `DsqlPool` from `@dsql/pg` (recommended), any `pg.Pool`, or a
 * function returning one (called on first use). `db.destroy()` ends it.
 *
 * @example
 * new DsqlDialect({ pool: new DsqlPool({ host, max: 20 }) });
 */
export interface DsqlDialectPoolConfig extends DsqlDialectOptions {
  pool: PgPoolLike | (() => PgPoolLike | Promise<PgPoolLike>);
  /** `pg-cursor`'s class, for `.stream()`. */
  cursor?: PgCursorConstructor;
}

/**
 * Bring a Postgres.js `sql`: from `dsql()` of `@dsql/postgres` (recommended) or `postgres()`.
 * `db.destroy()` ends it.
 *
 * @example
 * new DsqlDialect({ postgres: dsql({ host, max: 10 }) });
 */
export interface DsqlDialectPostgresConfig extends DsqlDialectOptions {
  postgres: PostgresSqlLike;
}

/**
 * The shared DSQL connection options (`host`, `region`, `user`, `credentials`, `hostaddr`,
 * `ssl`, `maxLifetimeSeconds`, `connectRateLimit`, …) plus any `DsqlPool` / `pg.Pool` option
 * (`max`, `idleTimeoutMillis`, …): the dialect creates a `DsqlPool` from `@dsql/pg` on first use.
 *
 * @example
 * new DsqlDialect({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', user: 'admin', max: 10 });
 */
export interface DsqlDialectConnectionConfig extends DsqlDialectOptions, DsqlPoolConfig {
  pool?: never;
  postgres?: never;
  /** `pg-cursor`'s class, for `.stream()`. */
  cursor?: PgCursorConstructor;
}

/**
 * What {@link DsqlDialect} accepts: shared DSQL options (a `DsqlPool` is created), `{ pool }`,
 * or `{ postgres }`, each with the {@link DsqlDialectOptions}.
 *
 * @example
 * const config: DsqlDialectConfig = { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' };
 */
export type DsqlDialectConfig = DsqlDialectConnectionConfig | DsqlDialectPoolConfig | DsqlDialectPostgresConfig;

/** Keys of the config that belong to the dialect, never handed to the pool. */
const DIALECT_KEYS = ['waitForIndexes', 'migrationLock', 'identityCache', 'onReserveConnection', 'detectNestedTransactions', 'pool', 'postgres', 'cursor'] as const;

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/**
 * Builds the session source of a config: the pool or `sql` given, else a `DsqlPool` created on
 * first use. Shared options are checked here, so a bad option fails at `new DsqlDialect()`.
 */
function sourceOf(config: DsqlDialectConfig): SessionSource {
  if ('postgres' in config && config.postgres !== undefined) {
    if (typeof config.postgres?.reserve !== 'function') {
      throw new DsqlConfigError('postgres', describe(config.postgres), 'a Postgres.js sql (from dsql() of @dsql/postgres, or postgres()) with reserve()');
    }
    return postgresSource(config.postgres);
  }
  if ('pool' in config && config.pool !== undefined) {
    const pool = config.pool;
    if (typeof pool !== 'function' && typeof (pool as { connect?: unknown })?.connect !== 'function') {
      throw new DsqlConfigError('pool', describe(pool), 'a DsqlPool (or pg.Pool), or a function returning one');
    }
    return pgSource(pool, config.cursor);
  }
  const poolConfig: Record<string, unknown> = { ...config };
  for (const key of DIALECT_KEYS) delete poolConfig[key];
  // Resolved (and validated) once, now; the DsqlPool takes this session with its options. Its
  // connect deadline is pg's connectionTimeoutMillis, as DsqlPool reads it.
  const timeout = poolConfig.connectionTimeoutMillis;
  const session = createDsqlSession(poolConfig, { connectDeadlineMs: typeof timeout === 'number' && timeout > 0 ? timeout : undefined });
  if (session.config.transport === 'websocket') {
    // The DsqlPool made here speaks TCP only (node-postgres); Postgres.js speaks WebSocket.
    throw new DsqlConfigError('transport', '"websocket"', "'tcp' with the pool DsqlDialect creates; for PostgreSQL over WebSocket bring { postgres: dsql({ …, transport: 'websocket' }) } from @dsql/postgres");
  }
  // @dsql/pg (and so `pg`) is loaded only here, so Postgres.js users need not install `pg`.
  return pgSource(async () => new (await import('@dsql/pg')).DsqlPool({ ...poolConfig, [DSQL_SESSION]: session } as DsqlPoolConfig), config.cursor);
}

/**
 * Kysely dialect for Amazon Aurora DSQL.
 *
 * `new Kysely<DB>({ dialect: new DsqlDialect({ host, user }) })`, and everything after that
 * works on DSQL, Kysely's `Migrator` included:
 * - connections come from a `DsqlPool` (`@dsql/pg`: cached IAM tokens, TLS verify-full, jittered
 *   lifetimes, connect rate limiting), or from the pool (`{ pool }`) or Postgres.js `sql`
 *   (`{ postgres }`) you bring;
 * - queries compile with Kysely's PostgreSQL compiler, except that `createIndex()` emits
 *   `CREATE INDEX ASYNC` (and waits for the job, see `waitForIndexes`), identity columns get the
 *   `CACHE` DSQL requires, and `serial` types, `forShare()`, savepoints and isolation levels
 *   other than repeatable read fail before reaching the server, saying what to use instead;
 * - the `Migrator` runs statement by statement (DSQL: one DDL per transaction, no DDL with DML)
 *   under a lease lock on its lock row instead of an advisory lock (see {@link DsqlAdapter});
 * - `db.introspection` is Kysely's PostgreSQL introspector without DSQL's `sys` schema.
 *
 * Use {@link transaction} for transactions that retry OCC conflicts.
 *
 * @example
 * import { Kysely } from 'kysely';
 * import { Migrator } from 'kysely/migration'; // Kysely 0.28: from 'kysely'
 * import { DsqlDialect, transaction } from '@dsql/kysely';
 *
 * const db = new Kysely<DB>({
 *   dialect: new DsqlDialect({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', user: 'admin' }),
 * });
 * await new Migrator({ db, provider }).migrateToLatest();
 * await transaction(db, async (trx) => {
 *   await trx.updateTable('accounts').set((eb) => ({ balance: eb('balance', '-', 10) })).where('id', '=', id).execute();
 * });
 * await db.destroy();
 */
export class DsqlDialect implements Dialect {
  readonly #source: SessionSource;
  readonly #waitForIndexes: boolean;
  readonly #identityCache: number;
  readonly #lock: ResolvedMigrationLockConfig;
  readonly #retry: RetryOptions | boolean;
  readonly #onReserveConnection: DsqlDialectOptions['onReserveConnection'];
  readonly #nest: NestedTransactionGuard;

  constructor(config: DsqlDialectConfig) {
    if (typeof config !== 'object' || config === null) {
      throw new DsqlConfigError('config', describe(config), 'an object: shared DSQL options, { pool }, or { postgres }');
    }
    if (config.waitForIndexes !== undefined && typeof config.waitForIndexes !== 'boolean') {
      throw new DsqlConfigError('waitForIndexes', describe(config.waitForIndexes), 'true or false');
    }
    if (config.onReserveConnection !== undefined && typeof config.onReserveConnection !== 'function') {
      throw new DsqlConfigError('onReserveConnection', describe(config.onReserveConnection), 'a function');
    }
    this.#waitForIndexes = config.waitForIndexes ?? true;
    this.#identityCache = checkIdentityCache(config.identityCache);
    this.#lock = resolveMigrationLockConfig(config.migrationLock);
    this.#retry = config.retry ?? true;
    this.#onReserveConnection = config.onReserveConnection;
    this.#source = sourceOf(config);
    this.#nest = nestGuard(this.#source, resolveDetectNestedTransactions(config.detectNestedTransactions));
  }

  createDriver(): Driver {
    return new DsqlDriver(this.#source, { waitForIndexes: this.#waitForIndexes, onReserveConnection: this.#onReserveConnection, nest: this.#nest });
  }

  createQueryCompiler(): QueryCompiler {
    return new DsqlQueryCompiler({ identityCache: this.#identityCache });
  }

  createAdapter(): DialectAdapter {
    return new DsqlAdapter(this.#lock, { detached: this.#detached, retry: this.#retry, nest: this.#nest, owner: () => this.#source.owner() });
  }

  /**
   * The `DsqlStats` of the pool or `sql` under this dialect (the shape every `@dsql/*` adapter
   * reports: connections by state, attempts, closes, tokens, transactions, failovers); `undefined`
   * before a pool given as a factory was created, or for a pool or `sql` not from `@dsql/pg` /
   * `@dsql/postgres`.
   *
   * @example
   * const dialect = new DsqlDialect({ host });
   * const db = new Kysely<DB>({ dialect });
   * console.log(dialect.stats()?.transactions.occConflicts);
   */
  stats(): DsqlStats | undefined {
    return dsqlStats(this.#source.owner());
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new DsqlIntrospector(db);
  }

  /** Runs one statement on a connection of its own (renewing the Migrator's lease). */
  readonly #detached: DetachedQuery = async (text, params, acquireTimeoutMs) => {
    const pending = this.#source.acquire();
    let timer: NodeJS.Timeout | undefined;
    const session = await Promise.race([
      pending,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), acquireTimeoutMs))),
    ]).finally(() => clearTimeout(timer));
    if (session === undefined) {
      // Given up: hand the connection back untouched whenever the pool produces it.
      pending.then((late) => late.release(false), () => undefined);
      return undefined;
    }
    let destroy = false;
    try {
      return (await session.query(text, params)).rows;
    } catch (err) {
      destroy = true;
      throw err;
    } finally {
      await session.release(destroy);
    }
  };
}
