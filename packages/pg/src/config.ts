import type pg from 'pg';
import {
  LifecyclePolicy,
  backoffDelay,
  isTransientError,
  resolveConfig,
  resolveRetryOptions,
  sharedConnectRateLimiter,
  TokenProvider,
  tlsOptions,
  type DsqlConnectionOptions,
  type RetryOptions,
} from '@dsql/core';
import { classifyInPlace } from './classify.js';
import type { ConnectRetryPolicy } from './connect-retry.js';
import { dialAddress } from './address-socket.js';

/** Options of `DsqlClient`: the shared DSQL options plus every `pg.Client` option. */
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
}

/** Options of `DsqlPool`: the shared DSQL options plus every `pg.Pool` option. */
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
  /** Whether the options belong to a pool (its clients don't retry on their own) or a client. */
  owner: 'pool' | 'client';
  limiter: { acquire(): Promise<void> } | undefined;
  retry: RetryOptions | false;
  queryRetry: RetryOptions | false;
  connectRetry: ConnectRetryPolicy;
  lifecycle: LifecyclePolicy;
}

/** Key under which a pool's prepared options travel to the clients pg-pool creates. */
export const PREPARED: unique symbol = Symbol('@dsql/pg prepared');

/** Keys that are DSQL's, not pg's: never handed to pg. */
const SHARED_KEYS = [
  'host', 'region', 'port', 'user', 'database', 'hostaddr', 'credentials', 'profile', 'tokenDurationSecs',
  'ssl', 'sslmode', 'retry', 'maxLifetimeSeconds', 'connectRateLimit', 'connectionString', 'queryRetry',
  'clusterId', 'admin', 'applicationName', 'applicationNamePrefix', 'options',
] as const;

/** Default time allowed for retrying a refused connection when `connectionTimeoutMillis` is unset. */
export const DEFAULT_CONNECT_RETRY_BUDGET_MS = 30_000;

type Prepared = { pg: pg.PoolConfig & { [PREPARED]: PreparedDsql }; dsql: PreparedDsql };

/**
 * Turns `DsqlPool`/`DsqlClient` arguments into pg options plus what DSQL needs beside them.
 * Options already prepared by a pool (pg-pool passes its options to each new client) are
 * recognised and reused, so a pool's clients share its token provider and limiter.
 */
export function prepareConfig(
  urlOrConfig: string | DsqlPoolConfig | undefined,
  overrides: DsqlPoolConfig | undefined,
  owner: 'pool' | 'client',
): Prepared {
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
    idleTimeoutMillis: explicit.idleTimeoutMillis ?? undefined,
  });
  const tokens = TokenProvider.shared({
    host: config.tokenHost,
    region: config.region,
    user: config.user,
    admin: config.admin,
    credentials: config.credentials,
    profile: config.profile,
    tokenDurationSecs: config.tokenDurationSecs,
  });
  const budgetMs = explicit.connectionTimeoutMillis || DEFAULT_CONNECT_RETRY_BUDGET_MS;
  const dsql: PreparedDsql = {
    owner,
    limiter: config.connectRateLimit === false ? undefined : sharedConnectRateLimiter(`${config.host}:${config.port}`, config.connectRateLimit),
    retry: config.retry,
    queryRetry: explicit.queryRetry === undefined || explicit.queryRetry === false ? false : resolveRetryOptions(explicit.queryRetry, 'queryRetry'),
    connectRetry: connectRetryPolicy(budgetMs),
    lifecycle,
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
  return { pg: pgConfig, dsql };
}

/** Backoff for refused connection attempts: from 50 ms doubling to 2 s, full jitter. */
function connectRetryPolicy(budgetMs: number): ConnectRetryPolicy {
  return {
    isTransient: isTransientError,
    delayMs: (attempt) => 50 + backoffDelay(attempt, { baseDelayMs: 100, maxDelayMs: 2000 }, Math.random),
    budgetMs,
    maxAttempts: 20,
    describe: (err, attempts) => {
      const e = classifyInPlace(err instanceof Error ? err : new Error(String(err)));
      if (attempts > 1) Object.defineProperty(e, 'attempts', { value: attempts, configurable: true, writable: true });
      return e;
    },
  };
}
