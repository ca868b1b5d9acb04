/* eslint-disable @typescript-eslint/no-empty-object-type -- `{}` mirrors Postgres.js's own generic defaults, so `DsqlSql<T>` is exactly `postgres()`'s return type */
import postgres from 'postgres';
import {
  DsqlConfigError,
  createDsqlSession,
  DsqlSockets,
  dsqlStats as coreStats,
  registerDsqlPool,
  unregisterDsqlPool,
  withoutDsqlOptions,
  type ConnectRateLimiterStats,
  type DsqlConfig,
  type DsqlConnectionCounts,
  type DsqlConnectionOptions,
  type DsqlStats,
  type TokenProviderStats,
} from '@dsql/core';
import { guardReserved, isPostgresJs3 } from './postgres-js-3-closed-connection-patch.js';
import { reserveWaiters, type ReserveWaiters } from './reserve-waiters.js';
import { beginTransaction, nestingGuard, rememberSql } from './transaction.js';
import { LeasedAttempts } from './leasing.js';
import { classifyQueryErrors } from './query-errors.js';

/**
 * Postgres.js's `postgres()` function. Postgres.js 4 is an ES module only: this package's CommonJS
 * build gets it through Node's `require(esm)`, which returns the module namespace (the function is
 * its `default`), and the bundler's interop does not unwrap that (3.4 ships CommonJS, where the
 * default import is the function itself).
 */
const createSql: typeof postgres =
  typeof postgres === 'function' ? postgres : (postgres as unknown as { default: typeof postgres }).default;

/**
 * Postgres.js options that `dsql()` sets itself (or that make no sense with IAM tokens); the
 * browser `dsql()` (browser.ts) withholds these too, and `socket`.
 */
export type ManagedKeys =
  | 'host'
  | 'hostname'
  | 'port'
  | 'path'
  | 'user'
  | 'username'
  | 'database'
  | 'db'
  | 'pass'
  | 'password'
  | 'ssl'
  | 'max_lifetime'
  | 'target_session_attrs';

/**
 * Options of {@link dsql}: the shared DSQL connection options (`host`, `region`, `user`,
 * `hostaddr`, `credentials`, `profile`, `tokenDurationSecs`, `ssl`, `retry`,
 * `maxLifetimeSeconds`, `connectRateLimit`, …) plus Postgres.js's own options (`max`,
 * `idle_timeout`, `connect_timeout`, `types`, `transform`, `prepare`, `onnotice`, `debug`,
 * `connection`, …), except the ones DSQL manages (password, TLS, lifetime).
 *
 * @example
 * const options: DsqlPostgresOptions = { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', profile: 'dev', max: 20 };
 */
export type DsqlPostgresOptions<T extends Record<string, postgres.PostgresType> = {}> = Omit<postgres.Options<T>, ManagedKeys> &
  DsqlConnectionOptions & {
    /**
     * Refuse (`DsqlUnsupportedError`) a transaction — `sql.begin()` or `transaction(sql, …)` —
     * started on this `sql` from inside one of its own running transaction callbacks, where the
     * callback's `tx` was meant: it would be a separate transaction on another connection, not a
     * nested one, and with every connection held by outer transactions it would wait forever.
     * Default `true`. The check keeps an `AsyncLocalStorage` entered while a callback runs; on
     * Node 20/22 that adds async-hook work to every promise of the process while any callback
     * runs (none when no callback is open, none on Node 24). `false` turns it off.
     */
    detectNestedTransactions?: boolean;
  };

/**
 * The `sql` type Postgres.js returns for these custom types (same mapping as `postgres()`).
 *
 * @example
 * const sql: DsqlSql = dsql({ host });
 */
export type DsqlSql<T extends Record<string, postgres.PostgresType> = {}> = postgres.Sql<
  Record<string, postgres.PostgresType> extends T
    ? {}
    : { [type in keyof T]: T[type] extends { serialize: (value: infer R) => unknown; parse: (raw: any) => infer R } ? R : never } // eslint-disable-line @typescript-eslint/no-explicit-any
>;

/**
 * Counters of the connections opened for one `sql` instance.
 *
 * @example
 * const { opened, retried } = dsqlStats(sql)!.connections;
 */
export interface ConnectStats {
  /** Sessions opened and authenticated. */
  readonly opened: number;
  /** Attempts made (a retried connection counts each attempt). */
  readonly attempts: number;
  /** Attempts that failed with a transient refusal and were retried. */
  readonly retried: number;
  /** Connections that failed for good (the error reached Postgres.js). */
  readonly failed: number;
}

/**
 * Counters of an `sql` created by {@link dsql}: the `DsqlStats` every `@dsql/*` adapter reports
 * (connections by state, attempts by outcome, closes by reason, tokens, transactions, failovers),
 * plus — deprecated, kept from this package's earlier shape until its next major version —
 * `connections.opened/attempts/retried/failed`, `tokens.signings/cacheHits/failures` and `rateLimiter`.
 *
 * @example
 * const stats: DsqlSqlStats | undefined = dsqlStats(sql);
 */
export interface DsqlSqlStats extends DsqlStats {
  /** Connections by state (Postgres.js 4's `sql.stats`; on 3.4 counted on this package's sockets, `pending` `null`), plus the deprecated {@link ConnectStats}. */
  readonly connections: DsqlConnectionCounts & ConnectStats;
  /** `DsqlStats['tokens']`, plus (deprecated) the shared token provider's own counters. */
  readonly tokens: DsqlStats['tokens'] & TokenProviderStats;
  /** @deprecated The process-wide connection rate limiter of the cluster, when enabled (`session.limiter.stats()` of `@dsql/core`). */
  readonly rateLimiter: ConnectRateLimiterStats | undefined;
}

/** Per `sql`: its sockets' connection counts and the deprecated counters of {@link DsqlSqlStats}. */
const statsOf = new WeakMap<object, { gauge: DsqlSockets['gauge']; legacy: () => Pick<DsqlSqlStats, 'rateLimiter'> & { connections: ConnectStats; tokens: TokenProviderStats } }>();

/** Postgres.js 4's public pool counters (`sql.stats`; absent in 3.4). */
interface PostgresJsPoolStats {
  connections: number;
  idle: number;
  waiting: number;
}

/**
 * An `sql`'s connection counts (a static function: core's registry must not hold the `sql`):
 * Postgres.js 4's public `sql.stats`; on 3.4, which exposes none, this package's sockets' counts
 * (no queue length: `pending` is `null`).
 */
function connectionCounts(sql: object): DsqlConnectionCounts {
  const pool = (sql as { stats?: PostgresJsPoolStats }).stats;
  if (pool !== undefined && typeof pool.connections === 'number') {
    return { open: pool.connections, idle: pool.idle, used: pool.connections - pool.idle, pending: pool.waiting };
  }
  const gauge = statsOf.get(sql)?.gauge;
  if (gauge === undefined) return { open: null, idle: null, used: null, pending: null };
  return { open: gauge.open, idle: gauge.open - gauge.used, used: gauge.used, pending: null };
}

function driverOptionsOf(input: object | undefined): Record<string, unknown> {
  // Postgres.js's own spellings of what the session decides (host, user, database, lifetime, socket) go too.
  const out = withoutDsqlOptions(input, ['hostname', 'path', 'username', 'db', 'max_lifetime', 'target_session_attrs', 'socket']) as Record<string, unknown>;
  for (const key of ['pass', 'password'] as const) {
    if (out[key] !== undefined) {
      throw new DsqlConfigError(
        key,
        'a password',
        // No "password:" in this text: redact() (which every DsqlError message goes through) would take the next word for one.
        'no password (Aurora DSQL authenticates with IAM tokens, which dsql() signs itself; choose the identity with the credentials or profile option)',
      );
    }
  }
  return out;
}

function startupParameters(config: DsqlConfig, connection: unknown): Record<string, string> {
  return {
    application_name: config.applicationName,
    ...(config.options === undefined ? {} : { options: config.options }),
    ...(typeof connection === 'object' && connection !== null ? (connection as Record<string, string>) : {}),
  };
}

/**
 * Creates a Postgres.js `sql` for Aurora DSQL. It is a genuine `postgres.Sql` (tagged
 * templates, `sql.begin`, `sql.reserve`, custom `types`, transforms; usable by Drizzle's
 * `drizzle-orm/postgres-js` and `kysely-postgres-js`), configured so that:
 *
 * - every connection authenticates with an IAM token from core's shared `TokenProvider`
 *   (credentials resolved once, the token cached and reused until shortly before expiry);
 * - TLS is verify-full against the cluster hostname with SNI, also when `hostaddr` is dialled;
 * - each connection lives for a lifetime drawn from `maxLifetimeSeconds` (default 45–55 min,
 *   inside DSQL's 60-minute limit) so a pool never reconnects all at once;
 * - new connections pass the cluster's process-wide `ConnectRateLimiter` (core's
 *   `connectRateLimiterFor`: shared with every `@dsql` adapter and endpoint form of the cluster);
 * - refused connection attempts that go away by themselves (rate exceeded, too many
 *   connections, cluster waking up, reset) are retried with backoff until `connect_timeout`,
 *   before any query sees them; access denied fails at once with a `DsqlConnectError` that
 *   says what to check;
 * - `sql.savepoint` inside a transaction rejects with `DsqlUnsupportedError`, and so does an
 *   isolation level other than repeatable read in `sql.begin(options, …)`;
 * - `sql.begin()` or `transaction(sql, …)` called with this `sql` from inside one of its own
 *   running transaction callbacks (instead of the callback's `tx`) rejects at once with
 *   `DsqlUnsupportedError`, before anything is sent: it would be a separate transaction on
 *   another connection, not a nested one (`detectNestedTransactions: false` turns this off).
 *
 * A connection lost inside `sql.begin` or under a reserved connection (`sql.reserve()`, which
 * `kysely-postgres-js` uses) fails the transaction or the reserved connection's statements
 * instead of crashing the process, and an idle connection the server closes is replaced on the
 * next query. Works with Postgres.js 3.4 (which would write to the dropped socket: patched, see
 * postgres-js-3-closed-connection-patch.ts) and 4 (which needs no patch).
 *
 * `sql.begin` retries OCC conflicts only when the `retry` option is given (opt-in: a retried
 * callback runs more than once); `transaction(sql, fn)` always does. Query errors are
 * Postgres.js's own `PostgresError`s with `err.dsql` (core's error funnel): on refused connects,
 * out of `sql.begin` and `transaction()`, and on Postgres.js 4 on every query (query-errors.ts).
 *
 * Postgres.js sees `ssl: false` in `sql.options` because TLS is set up underneath it, and
 * `pass` is a function (the token never sits in the options).
 *
 * @example
 * import { dsql } from '@dsql/postgres';
 *
 * const sql = dsql('postgres://admin@abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws/postgres', { max: 20 });
 * const [{ now }] = await sql`select now()`;
 * await sql.end();
 */
export function dsql<T extends Record<string, postgres.PostgresType> = {}>(
  urlOrOptions?: string | DsqlPostgresOptions<T>,
  options?: DsqlPostgresOptions<T>,
): DsqlSql<T> {
  // Postgres.js's own idle_timeout (seconds) is the session's idle policy, so core can tell an idle close from others.
  const idleSeconds = [options, typeof urlOrOptions === 'object' ? urlOrOptions : undefined]
    .map((o) => (o as { idle_timeout?: unknown } | undefined)?.idle_timeout)
    .find((v) => v !== undefined);
  const session = createDsqlSession(
    urlOrOptions as string | DsqlConnectionOptions | undefined,
    typeof idleSeconds === 'number' ? { ...(options as DsqlConnectionOptions | undefined), idleTimeoutMillis: idleSeconds * 1000 } : options,
  );
  const { config, tokens, limiter, lifetime, detectNestedTransactions } = session;
  const driver = {
    ...driverOptionsOf(typeof urlOrOptions === 'object' ? urlOrOptions : undefined),
    ...driverOptionsOf(options),
  };
  /**
   * Core's authenticated sockets, one per Postgres.js connection. Their `live` backend keys are read
   * by Postgres.js 3.4's closed-connection patch to tell which session a transaction or reservation is on.
   */
  const sockets = new DsqlSockets(session);
  const { counters, gauge, live } = sockets;
  /** Postgres.js 3.4 only: rescues reservations waiting while a connection closes (reserve-waiters.ts). */
  let waiters: ReserveWaiters<postgres.ReservedSql> | undefined;

  const socket = (parsed: { connect_timeout?: number | null; keep_alive?: number | null }) => {
    const connectTimeoutMs = (parsed.connect_timeout ?? 30) * 1000;
    return sockets.open({
      keepAliveSeconds: parsed.keep_alive ?? undefined,
      // Leave Postgres.js's own connect timer a moment, so the application gets our explanation.
      deadlineMs: connectTimeoutMs > 0 ? Math.max(0, connectTimeoutMs - 500) : undefined,
    });
  };

  const sql = createSql({
    idle_timeout: lifetime.idleTimeoutMillis / 1000,
    ...driver,
    host: config.host,
    port: config.port,
    user: config.user,
    database: config.database,
    pass: () => tokens.getToken(),
    ssl: false,
    // A function: Postgres.js calls it for each connection, so every connection gets its own lifetime.
    max_lifetime: lifetime.nextMaxLifetimeSeconds,
    connection: startupParameters(config, driver.connection),
    socket,
    onclose: (id: number) => {
      waiters?.connectionClosed();
      (driver.onclose as ((id: number) => void) | undefined)?.(id);
    },
  } as postgres.Options<T>) as unknown as DsqlSql<T>;

  // Postgres.js 3.4 lets statements reach a connection after it closed (crashing the process)
  // and strands reservations; 4 does neither. The workarounds are for 3.4 only.
  const patch3 = isPostgresJs3(sql);
  const connection = { host: config.host, port: config.port, live };
  const target = { begin: sql.begin as postgres.Sql['begin'], retry: session.retry, nesting: nestingGuard(detectNestedTransactions ? sql : undefined), patch3, connection, stats: session.stats };
  rememberSql(sql, target);
  // sql.begin retries only when `retry` was asked for (a retried callback runs more than once).
  const beginRetry = session.retryRequested ? session.retry : false;
  Object.defineProperty(sql, 'begin', {
    configurable: true,
    writable: true,
    enumerable: true,
    value: function begin(optionsOrFn: unknown, maybeFn?: unknown) {
      const [beginOptions, fn] = typeof optionsOrFn === 'function' ? ['', optionsOrFn] : [String(optionsOrFn ?? ''), maybeFn];
      // Postgres.js 4's begin returns a Leasing (cancel(), signal()): so does this one, over its attempts.
      const attempts = new LeasedAttempts();
      const result = beginTransaction(target, 'sql.begin()', beginOptions, fn as never, beginRetry, (raw) => attempts.started(raw));
      return patch3 ? result : attempts.leasing(result);
    },
  });
  if (patch3) {
    // Postgres.js 3.4: a reservation waiting while a connection closes must not wait forever
    // (reserve-waiters.ts), and a reserved connection whose connection was lost must not reach
    // Postgres.js again (it would write to a dropped socket and crash the process): see
    // postgres-js-3-closed-connection-patch.ts. Postgres.js 4's own reserve() does both.
    const rawReserve = sql.reserve;
    const rescue = reserveWaiters(() => rawReserve());
    waiters = rescue;
    Object.defineProperty(sql, 'reserve', {
      configurable: true,
      writable: true,
      enumerable: true,
      value: async function reserve() {
        return guardReserved(await rescue.reserve(), connection);
      },
    });
  }
  // sql.end() also stops the background probes of failover between `endpoints`.
  const rawEnd = sql.end;
  Object.defineProperty(sql, 'end', {
    configurable: true,
    writable: true,
    enumerable: true,
    value: function end(endOptions?: Parameters<postgres.Sql['end']>[0]) {
      session.router.close();
      unregisterDsqlPool(sql);
      return rawEnd(endOptions);
    },
  });
  // Plain queries' errors carry err.dsql (Postgres.js 4's diagnostics_channel; see query-errors.ts).
  classifyQueryErrors(config);
  statsOf.set(sql, { gauge, legacy: () => ({ connections: { ...counters }, tokens: tokens.stats(), rateLimiter: limiter?.stats() }) });
  // dsqlStats() and @dsql/opentelemetry's db.client.connection.count read the sockets' counts.
  registerDsqlPool(sql, session, connectionCounts);
  return sql;
}

/**
 * Counters of an `sql` created by {@link dsql} ({@link DsqlSqlStats}: the `DsqlStats` shape of every
 * `@dsql/*` adapter, plus this package's deprecated fields); `undefined` for any other `sql`.
 * Connections by state: Postgres.js 4's public `sql.stats` (`connections`, `idle`, `waiting`); on
 * Postgres.js 3.4, which exposes no pool counters, this package's sockets' counts (`used` is a
 * connection with a statement in flight or a transaction open; `pending` is `null`).
 *
 * @example
 * const { connections, connectAttempts, transactions } = dsqlStats(sql)!;
 * console.log(connections.idle, connectAttempts.refused, transactions.occConflicts);
 */
export function dsqlStats(sql: object): DsqlSqlStats | undefined {
  const own = statsOf.get(sql);
  const stats = own && coreStats(sql);
  if (own === undefined || stats === undefined) return undefined;
  const legacy = own.legacy();
  return { ...stats, connections: { ...stats.connections, ...legacy.connections }, tokens: { ...legacy.tokens, ...stats.tokens }, rateLimiter: legacy.rateLimiter };
}
