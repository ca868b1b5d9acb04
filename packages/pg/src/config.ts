import type * as pg from 'pg';
import {
  DSQL_SESSION,
  DsqlConfigError,
  createDsqlSession,
  resolveRetryOptions,
  sessionCarriedBy,
  withoutDsqlOptions,
  type DsqlConnectionOptions,
  type DsqlEndpointSession,
  type DsqlSession,
  type RoutedAttempt,
  type RetryOptions,
} from '@dsql/core';
import type { ConnectionSeed } from './pg-client-private-state.js';
import { dialAddress } from './address-socket.js';
import { probeWith } from './endpoint-probe.js';
import { EndpointConnections } from './endpoint-drain.js';

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
  /**
   * Everything DSQL resolved for these options (@dsql/core's `createDsqlSession`): token source,
   * rate limiter, lifetime policy, connect deadline (`connectionTimeoutMillis`, else 30 s),
   * default retry, `detectNestedTransactions`, connect-error description.
   */
  session: DsqlSession;
  /** Default OCC retry of `transaction()` (the session's). */
  retry: RetryOptions | false;
  /** Whether `transaction()` refuses calls from inside a transaction callback of the same pool (the session's). */
  detectNestedTransactions: boolean;
  /** OCC retry of autocommit `pool.query()`; off unless asked for. */
  queryRetry: RetryOptions | false;
  /** pg options that shape a connection (to rebuild one after a refused attempt). */
  seed: ConnectionSeed;
  /** The open connections of the pool (or standalone client) by endpoint, to drain an unhealthy one. */
  live: EndpointConnections;
  /** The application's own `password` (replacing the IAM token for every endpoint), if any. */
  userPassword?: pg.ClientConfig['password'];
  /** The application's own `stream` (used for every endpoint), if any. */
  userStream?: pg.ClientConfig['stream'];
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

/**
 * Core's session for `DsqlPool`/`DsqlClient` options: pg's `idleTimeoutMillis` is the session's
 * (same name and meaning), and `connectionTimeoutMillis` bounds connecting, retries included.
 *
 * @example
 * const session = poolSession({ host, connectionTimeoutMillis: 5000 }); // session.connectDeadlineMs === 5000
 */
export function poolSession(options: string | DsqlPoolConfig | undefined): DsqlSession {
  const timeout = typeof options === 'object' ? options?.connectionTimeoutMillis : undefined;
  return tcpOnly(createDsqlSession(options, { connectDeadlineMs: typeof timeout === 'number' && timeout > 0 ? timeout : undefined }));
}

/** The session, when its transport is one pg can use (also for a session made elsewhere and carried in). */
function tcpOnly(session: DsqlSession): DsqlSession {
  // node-postgres reads and writes a net.Socket's own API (its `stream` option is called with
  // TCP in mind and expects connect()); a WebSocket is not offered here rather than half-done.
  if (session.config.transport === 'websocket') {
    throw new DsqlConfigError('transport', '"websocket"', "'tcp' with @dsql/pg; for PostgreSQL over WebSocket use @dsql/postgres (dsql())");
  }
  return session;
}

type PgOptions = pg.PoolConfig & { [PREPARED]: PreparedDsql };
/** The pg options `prepareConfig` makes (what a `DsqlClient` of these options is constructed with). */
export type PgClientOptions = PgOptions;
type Prepared = { pg: PgOptions; dsql: PreparedDsql };

/**
 * The pg options of a connection to `endpoint`: its host and port, its TLS identity, its token
 * (signed for its host and Region only) and its dial address; with more than one endpoint, a
 * `connectionTimeoutMillis` no longer than the router's attempt bound (the connect deadline when
 * no other endpoint is healthy). The options themselves
 * with a single `host` (nothing is copied).
 *
 * @example
 * const options = endpointPgOptions(poolOptions, session.router.pick());
 */
export function endpointPgOptions(options: PgOptions, endpoint: DsqlEndpointSession): PgOptions {
  const dsql = options[PREPARED];
  const { session } = dsql;
  if (session.endpoints.length === 1) return options;
  // With another healthy endpoint to try, one attempt may not take the whole connect deadline (a
  // blackholed endpoint); with none, it may (cutting it short would only fail a slow handshake).
  const bound = session.router.attemptTimeoutMs(endpoint) ?? session.connectDeadlineMs;
  const own = options.connectionTimeoutMillis;
  const connectionTimeoutMillis = typeof own === 'number' && own > 0 ? Math.min(own, bound) : bound;
  // pg-pool keeps `password` non-enumerable on its options (a spread drops it): carried over explicitly.
  if (endpoint === session.endpoints[0]) return { ...options, password: options.password, connectionTimeoutMillis };
  return {
    ...options,
    connectionTimeoutMillis,
    host: endpoint.config.host,
    port: endpoint.config.port,
    ssl: endpoint.tls,
    password: dsql.userPassword ?? (() => endpoint.tokens.getToken()),
    stream: dsql.userStream ?? (endpoint.dial.hostaddr ? dialAddress(endpoint.dial.address) : undefined),
  } as PgOptions;
}

/**
 * Turns `DsqlPool`/`DsqlClient` arguments into pg options plus what DSQL needs beside them
 * (core's session). Options already prepared by a pool (pg-pool passes its options to each new
 * client) are recognised and reused, so a pool's clients share its session.
 */
export function prepareConfig(urlOrConfig: string | DsqlPoolConfig | undefined, overrides?: DsqlPoolConfig): Prepared {
  if (typeof urlOrConfig === 'object' && urlOrConfig !== null && PREPARED in urlOrConfig) {
    return { pg: urlOrConfig as PgOptions, dsql: (urlOrConfig as PgOptions)[PREPARED] };
  }
  const input: DsqlPoolConfig = typeof urlOrConfig === 'string' ? { connectionString: urlOrConfig } : { ...(urlOrConfig ?? {}) };
  const explicit: DsqlPoolConfig = { ...input, ...(overrides ?? {}) };
  // A session made from these very options (by @dsql/kysely's dialect) is taken as it is.
  const carried = overrides === undefined ? sessionCarriedBy(explicit) : undefined;
  const session = carried ? tcpOnly(carried) : poolSession(explicit);
  const { config, lifetime, tokens } = session;

  // Everything that is not a shared DSQL option goes to pg untouched.
  const passThrough = withoutDsqlOptions(explicit, ['queryRetry']);
  delete passThrough[DSQL_SESSION];

  const dsql: PreparedDsql = {
    session,
    retry: session.retry,
    detectNestedTransactions: session.detectNestedTransactions,
    queryRetry: explicit.queryRetry === undefined || explicit.queryRetry === false ? false : resolveRetryOptions(explicit.queryRetry, 'queryRetry'),
    seed: { stream: undefined, keepAlive: explicit.keepAlive, keepAliveInitialDelayMillis: explicit.keepAliveInitialDelayMillis },
    live: new EndpointConnections(session),
    ...(explicit.password !== undefined ? { userPassword: explicit.password } : {}),
    ...(explicit.stream !== undefined ? { userStream: explicit.stream } : {}),
  };

  const pgConfig = {
    ...passThrough,
    host: config.host,
    port: config.port,
    user: config.user,
    database: config.database,
    ssl: session.tls,
    application_name: explicit.application_name ?? config.applicationName,
    ...(config.options !== undefined ? { options: config.options } : {}),
    idleTimeoutMillis: lifetime.idleTimeoutMillis,
    // Called by pg only when a physical connection authenticates; the provider caches the token.
    password: explicit.password ?? (() => tokens.getToken()),
    ...(session.dial.hostaddr && !explicit.stream ? { stream: dialAddress(session.dial.address) } : {}),
    [PREPARED]: dsql,
  } as Prepared['pg'];
  dsql.seed.stream = pgConfig.stream as ConnectionSeed['stream'];
  session.router.useProbe(probeWith(pgConfig));
  return { pg: pgConfig, dsql };
}

/**
 * Where one new connection goes: core's router picks the endpoint (the first healthy one, or
 * the lowest-latency one), and the client connects there with that endpoint's options and
 * reports the outcome on `attempt`. A client is one connection: a pool's next connection (or its
 * retry of a refused one) is a new client, routed anew.
 *
 * @example
 * const { pg: options, attempt } = routeConnection(prepareConfig(config));
 */
export function routeConnection(prepared: Prepared): { pg: PgOptions; attempt: RoutedAttempt<DsqlEndpointSession> } {
  const attempt = prepared.dsql.session.router.attempt();
  return { pg: endpointPgOptions(prepared.pg, attempt.endpoint), attempt };
}
