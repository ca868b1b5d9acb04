import type pg from 'pg';
import {
  DsqlConfigError,
  LifecyclePolicy,
  redact,
  resolveConfig,
  resolveRetryOptions,
  connectRateLimiterFor,
  tokenProviderFor,
  tlsOptions,
  type ConnectErrorContext,
  type DsqlConnectionOptions,
  type RetryOptions,
} from '@dsql/core';
import type { ConnectionSeed } from './reconnect.js';
import { dialAddress } from './address-socket.js';

/**
 * Options of `DsqlClient`: the shared DSQL options plus every `pg.Client` option.
 *
 * @example
 * const config: DsqlClientConfig = { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', user: 'app', statement_timeout: 5000 };
 */
export interface DsqlClientConfig
  extends DsqlConnectionOptions,
    Omit<pg.ClientConfig, keyof DsqlConnectionOptions | 'password' | 'connectionString'> {
  /** A `postgres://`, `postgresql://` or `dsql://` URL; explicit options win over it. */
  connectionString?: string;
  /**
   * Fixed password or password function, replacing the IAM token (for a proxy that does its
   * own authentication). Leave unset for DSQL: a token is signed for you.
   */
  password?: pg.ClientConfig['password'];
  /**
   * Refuse `pool.transaction()` / `client.transaction()` called from inside a running
   * `transaction()` callback of the same pool (default `true`): such a call would start a
   * separate transaction on another connection, not a nested one. The check keeps an
   * `AsyncLocalStorage` entered while a callback runs; on Node 20/22 that adds async-hook work to
   * every promise of the process while any callback runs (none on Node 24). `false` turns it off.
   */
  detectNestedTransactions?: boolean;
}

/**
 * Options of `DsqlPool`: the shared DSQL options plus every `pg.Pool` option, plus `queryRetry`.
 *
 * @example
 * const config: DsqlPoolConfig = { host: 'abcdefghijklmnopqrstuvwxyz', region: 'us-east-1', max: 20, maxLifetimeSeconds: [1800, 2400] };
 */
export interface DsqlPoolConfig
  extends DsqlClientConfig,
    Omit<pg.PoolConfig, keyof DsqlClientConfig | 'maxLifetimeSeconds' | 'Client'> {
  /**
   * Retry autocommit `pool.query()` statements that fail with an OCC conflict (40001):
   * `true` (default retry options), retry options, or `false` (default: off). Each retry
   * re-runs the statement, so only enable it for statements that are safe to repeat.
   */
  queryRetry?: boolean | RetryOptions;
}

/** What `DsqlPool`/`DsqlClient` keep beside the options they hand to pg. */
export interface PreparedDsql {
  /** Rate limiter shared by the process for this endpoint, or undefined when disabled. */
  limiter: { acquire(options?: { timeoutMs?: number }): Promise<void> } | undefined;
  /** Default OCC retry of `transaction()`. */
  retry: RetryOptions | false;
  /** OCC retry of autocommit `pool.query()`; off unless asked for. */
  queryRetry: RetryOptions | false;
  /** Time allowed for connecting, retries included (`connectionTimeoutMillis`, else 30 s). */
  connectDeadlineMs: number;
  /** What `describeConnectError` needs to say what to check next. */
  errorContext: ConnectErrorContext;
  lifecycle: LifecyclePolicy;
  /** pg options that shape a connection (to rebuild one after a refused attempt). */
  seed: ConnectionSeed;
  /** Whether `transaction()` refuses calls from inside a transaction callback of the same pool. */
  detectNestedTransactions: boolean;
  /**
   * What nested-transaction scopes (@dsql/core's `runInTransactionScope`) are keyed by: the
   * `DsqlPool` itself (its clients share this object), or a standalone `DsqlClient` — so an ORM
   * that scopes its transactions by the pool it runs on (@dsql/kysely, @dsql/drizzle) and the
   * pool's own `transaction()` recognise each other. Set by the constructor.
   */
  scopeOwner?: object;
}

/** Key under which a pool's prepared options travel to the clients pg-pool creates. */
export const PREPARED: unique symbol = Symbol('@dsql/pg prepared');

/** Keys that are DSQL's, not pg's: never handed to pg. */
const SHARED_KEYS = [
  'host', 'region', 'port', 'user', 'database', 'hostaddr', 'credentials', 'profile', 'tokenDurationSecs',
  'ssl', 'sslmode', 'retry', 'maxLifetimeSeconds', 'connectRateLimit', 'connectionString', 'queryRetry',
  'clusterId', 'admin', 'applicationName', 'applicationNamePrefix', 'options', 'detectNestedTransactions',
] as const;

/** Time allowed for connecting (retries included) when `connectionTimeoutMillis` is unset. */
export const DEFAULT_CONNECT_DEADLINE_MS = 30_000;

/** A boolean option, its default when unset; anything else is refused naming the field. */
function booleanOption(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  const given = typeof value === 'string' ? JSON.stringify(redact(value).slice(0, 80)) : value === null ? 'null' : `a ${typeof value}`;
  throw new DsqlConfigError(field, given, 'true or false');
}

type Prepared = { pg: pg.PoolConfig & { [PREPARED]: PreparedDsql }; dsql: PreparedDsql };

/**
 * Turns `DsqlPool`/`DsqlClient` arguments into pg options plus what DSQL needs beside them.
 * Options already prepared by a pool (pg-pool passes its options to each new client) are
 * recognised and reused, so a pool's clients share its token provider and limiter.
 */
export function prepareConfig(urlOrConfig: string | DsqlPoolConfig | undefined, overrides?: DsqlPoolConfig): Prepared {
  if (typeof urlOrConfig === 'object' && urlOrConfig !== null && PREPARED in urlOrConfig) {
    return { pg: urlOrConfig as Prepared['pg'], dsql: (urlOrConfig as Prepared['pg'])[PREPARED] };
  }
  const input: DsqlPoolConfig = typeof urlOrConfig === 'string' ? { connectionString: urlOrConfig } : { ...(urlOrConfig ?? {}) };
  const explicit: DsqlPoolConfig = { ...input, ...(overrides ?? {}) };
  const config = resolveConfig(explicit);

  // Everything that is not a shared DSQL option goes to pg untouched.
  const passThrough: Record<string, unknown> = { ...explicit };
  for (const key of SHARED_KEYS) delete passThrough[key];

  const lifecycle = new LifecyclePolicy({
    maxLifetimeSeconds: config.maxLifetimeSeconds,
    // pg treats `null` as "never close idle connections", like 0.
    idleTimeoutMillis: explicit.idleTimeoutMillis === null ? 0 : explicit.idleTimeoutMillis,
  });
  const tokens = tokenProviderFor(config);
  const dsql: PreparedDsql = {
    // One limiter per cluster in the process, whatever the driver or the host name used to reach it.
    limiter: connectRateLimiterFor(config),
    retry: config.retry,
    queryRetry: explicit.queryRetry === undefined || explicit.queryRetry === false ? false : resolveRetryOptions(explicit.queryRetry, 'queryRetry'),
    connectDeadlineMs: explicit.connectionTimeoutMillis || DEFAULT_CONNECT_DEADLINE_MS,
    errorContext: {
      host: config.host,
      tokenHost: config.tokenHost,
      dialHost: config.dialHost,
      region: config.region,
      user: config.user,
      admin: config.admin,
    },
    lifecycle,
    seed: { stream: undefined, keepAlive: explicit.keepAlive, keepAliveInitialDelayMillis: explicit.keepAliveInitialDelayMillis },
    detectNestedTransactions: booleanOption('detectNestedTransactions', explicit.detectNestedTransactions, true),
  };

  const pgConfig = {
    ...passThrough,
    host: config.host,
    port: config.port,
    user: config.user,
    database: config.database,
    ssl: tlsOptions(config),
    application_name: explicit.application_name ?? config.applicationName,
    ...(config.options !== undefined ? { options: config.options } : {}),
    idleTimeoutMillis: lifecycle.idleTimeoutMillis,
    // Called by pg only when a physical connection authenticates; the provider caches the token.
    password: explicit.password ?? (() => tokens.getToken()),
    ...(config.hostaddr && !explicit.stream ? { stream: dialAddress(config.hostaddr) } : {}),
    [PREPARED]: dsql,
  } as Prepared['pg'];
  dsql.seed.stream = pgConfig.stream as ConnectionSeed['stream'];
  return { pg: pgConfig, dsql };
}

