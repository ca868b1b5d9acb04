import type { ConnectionOptions } from 'node:tls';
import type { TokenProvider } from '../auth/token-provider.js';
import { resolveConfig, type DsqlConfig, type DsqlConnectionOptions } from '../config/config.js';
import { LifecyclePolicy } from '../connect/lifecycle.js';
import type { ConnectRateLimiter } from '../connect/rate-limiter.js';
import { DsqlConfigError } from '../errors/errors.js';
import { resolveDetectNestedTransactions } from '../transaction/nested.js';
import { describeValue } from '../errors/redact.js';
import type { ResolvedRetryOptions } from '../retry.js';
import { connectionCloseReason, type ConnectAttemptProbe } from '../diagnostics/connect-probe.js';
import type { DsqlConnectionCloseReason } from '../diagnostics/channels.js';
import { resolveLogger, retryWithLogging, type DsqlLogger } from '../diagnostics/logger.js';
import { DsqlStatsRecorder } from '../diagnostics/stats.js';
import { endpointSession, type DsqlDialTarget, type DsqlEndpointSession } from '../failover/endpoint-session.js';
import { EndpointRouter } from '../failover/endpoint-router.js';
import { DEFAULT_ENDPOINT_PROBE, resolveEndpoints } from '../failover/resolve-endpoints.js';

export type { DsqlDialTarget } from '../failover/endpoint-session.js';

/**
 * Key under which options can carry a session already created from them, so that an adapter
 * building on another (Kysely's dialect creating a `DsqlPool`) resolves the options once:
 * {@link sessionCarriedBy} returns it. Registered with `Symbol.for`, so copies of this package agree.
 *
 * @example
 * new DsqlPool({ ...options, [DSQL_SESSION]: createDsqlSession(options) });
 */
export const DSQL_SESSION: unique symbol = Symbol.for('@dsql/core/session') as never;

/**
 * The session an options object carries under {@link DSQL_SESSION}, if any.
 *
 * @example
 * const session = sessionCarriedBy(options) ?? createDsqlSession(options);
 */
export function sessionCarriedBy(options: unknown): DsqlSession | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  const carried = (options as { [DSQL_SESSION]?: unknown })[DSQL_SESSION];
  return typeof carried === 'object' && carried !== null && 'config' in carried && 'tokens' in carried ? (carried as DsqlSession) : undefined;
}

/** Time allowed for opening a connection, retries included, when the driver sets none. */
export const DEFAULT_CONNECT_DEADLINE_MS = 30_000;

/**
 * What {@link createDsqlSession} accepts: the shared connection options plus the few an adapter
 * fills from its driver's own (`idleTimeoutMillis`, `connectDeadlineMs`).
 *
 * @example
 * const options: DsqlSessionOptions = { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', detectNestedTransactions: false };
 */
export interface DsqlSessionOptions extends DsqlConnectionOptions {
  /**
   * Refuse a transaction started from inside a running transaction callback of the same pool or
   * `sql` (it would be a separate transaction, not a nested one). Default `true`.
   */
  detectNestedTransactions?: boolean;
  /** How long an unused connection stays open, in ms; `0` or `null` keep idle connections. Default 600,000. */
  idleTimeoutMillis?: number | null;
  /** Time allowed for opening a connection, retries included, in ms. Default 30,000. */
  connectDeadlineMs?: number;
}

/**
 * When connections retire: each new connection draws its own maximum lifetime from the
 * `maxLifetimeSeconds` window, and idle ones close after `idleTimeoutMillis`.
 *
 * @example
 * pgPoolOptions.maxLifetimeSeconds = session.lifetime.nextMaxLifetimeSeconds();
 */
export interface DsqlLifetimePolicy {
  readonly maxLifetimeSeconds: readonly [number, number];
  readonly idleTimeoutMillis: number;
  /** A maximum lifetime for a new connection, in (fractional) seconds, uniform in the window. */
  nextMaxLifetimeSeconds(): number;
  /** The same, in milliseconds. */
  drawLifetimeMillis(): number;
}

/**
 * Everything a connection to Aurora DSQL needs, resolved once from the user's options: adapters
 * translate it into their driver's idioms and assemble nothing themselves.
 *
 * @example
 * const session = createDsqlSession({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' });
 * await session.limiter?.acquire();
 * const password = await session.tokens.getToken();
 */
export interface DsqlSession {
  /** The resolved, frozen config (see `resolveConfig`). */
  readonly config: DsqlConfig;
  readonly dial: DsqlDialTarget;
  /** Node TLS options (SNI and verification against the cluster host), or `false` for `sslmode: 'disable'`. */
  readonly tls: ConnectionOptions | false;
  /** The process's shared token provider for this endpoint, role and identity: `getToken()` when a connection authenticates. */
  readonly tokens: TokenProvider;
  /** The process-wide connection rate limiter of the cluster, or `undefined` when `connectRateLimit` is `false`. */
  readonly limiter: ConnectRateLimiter | undefined;
  readonly lifetime: DsqlLifetimePolicy;
  /** Time allowed for opening a connection, retries included. */
  readonly connectDeadlineMs: number;
  /** The resolved default OCC retry of transactions, or `false` (each retry logged when a `logger` is set). */
  readonly retry: ResolvedRetryOptions | false;
  /** The `logger` option, validated. */
  readonly logger: DsqlLogger | undefined;
  /**
   * The counters of this session's connections, transactions and failovers (`DsqlStats`): core
   * counts them where it publishes the diagnostics messages. An adapter passes it to the
   * transaction runner and registers its pool with `registerDsqlPool`; users read `dsqlStats(pool)`.
   */
  readonly stats: DsqlStatsRecorder;
  /**
   * Whether the options set `retry` themselves (not the default). A driver method that retries
   * only when asked, such as Postgres.js's `sql.begin`, reads this.
   */
  readonly retryRequested: boolean;
  readonly detectNestedTransactions: boolean;
  /** Turns a refused connection into an error saying what to check next (`describeConnectError` for this config). */
  describeConnectError(err: unknown): unknown;
  /**
   * A probe for one connection attempt to this endpoint: the adapter reports the limiter wait,
   * the outcome and, later, the close; core publishes the `dsql:connect:*` and
   * `dsql:connection:closed` diagnostics messages (a no-op object when nobody subscribes).
   */
  probeConnectAttempt(): ConnectAttemptProbe;
  /** Why a connection of this session closed, from what the adapter saw (`connectionCloseReason` with this lifetime policy). */
  closeReason(seen: { lost: boolean; idle: boolean; ageMs: number; idleMs: number }): DsqlConnectionCloseReason;
  /**
   * Every endpoint a connection may go to, most preferred first: the `endpoints` option, else
   * the one `host` (then `endpoints[0]` carries exactly the `config`, `dial`, `tls`, `tokens` and
   * `limiter` above, which always describe `endpoints[0]`). Each has its own token provider,
   * rate limiter and TLS identity.
   */
  readonly endpoints: readonly DsqlEndpointSession[];
  /**
   * Chooses the endpoint of each new connection (health-based failover between Regional
   * endpoints; trivial with one endpoint): `router.attempt()` before dialling, then report the
   * outcome. Adapters register a probe with `router.useProbe` and call `router.close()` when the
   * pool or `sql` ends.
   */
  readonly router: EndpointRouter<DsqlEndpointSession>;
}

function deadlineOption(value: unknown): number {
  if (value === undefined) return DEFAULT_CONNECT_DEADLINE_MS;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  throw new DsqlConfigError('connectDeadlineMs', describeValue(value), 'a number of milliseconds > 0');
}

function lifetimePolicy(config: DsqlConfig, idle: unknown): DsqlLifetimePolicy {
  // A driver's `null` idle timeout (node-postgres) means "never close idle connections", like 0.
  const policy = new LifecyclePolicy({ maxLifetimeSeconds: config.maxLifetimeSeconds, idleTimeoutMillis: idle === null ? 0 : (idle as number | undefined) });
  return Object.freeze({
    maxLifetimeSeconds: policy.maxLifetimeSeconds,
    idleTimeoutMillis: policy.idleTimeoutMillis,
    nextMaxLifetimeSeconds: () => policy.drawLifetimeMillis() / 1000,
    drawLifetimeMillis: () => policy.drawLifetimeMillis(),
  });
}

function pick(key: keyof DsqlSessionOptions, input: unknown, overrides: DsqlSessionOptions | undefined): unknown {
  const fromOverrides = overrides?.[key];
  if (fromOverrides !== undefined) return fromOverrides;
  return typeof input === 'object' && input !== null ? (input as DsqlSessionOptions)[key] : undefined;
}

/**
 * Turns user options (a URL or the shared options, plus overrides, with the environment as
 * fallback: precedence as `resolveConfig`) into a frozen {@link DsqlSession}: the resolved
 * config, where to dial (`hostaddr` included), TLS options, the shared token provider, the
 * cluster's rate limiter, the lifetime policy, the connect deadline, the default retry,
 * `detectNestedTransactions` and a bound `describeConnectError`. Every option is validated
 * here, errors naming the field; unknown keys (a driver's own options) are ignored.
 *
 * @example
 * const session = createDsqlSession('postgres://admin@abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws/postgres', { maxLifetimeSeconds: 1800 });
 * const socket = tls.connect({ host: session.dial.address, port: session.dial.port, ...session.tls });
 */
export function createDsqlSession(
  input?: string | DsqlSessionOptions,
  overrides?: DsqlSessionOptions,
  env: Record<string, string | undefined> = process.env,
): DsqlSession {
  const listed = resolveEndpoints(input, overrides, env);
  const configs = listed?.configs ?? [resolveConfig(input, overrides, env)];
  const logger = resolveLogger(pick('logger', input, overrides));
  const stats = new DsqlStatsRecorder();
  const endpoints = Object.freeze(configs.map((c, i) => endpointSession(c, i, logger, stats)));
  stats.useTokenProviders(endpoints.map((e) => e.tokens));
  const preferred = endpoints[0]!;
  if (endpoints.length === 1) stats.endpoint = Object.freeze({ endpoint: preferred.config.host, region: preferred.config.region });
  const config = preferred.config;
  const detectNestedTransactions = resolveDetectNestedTransactions(pick('detectNestedTransactions', input, overrides));
  const connectDeadlineMs = deadlineOption(pick('connectDeadlineMs', input, overrides));
  const lifetime = lifetimePolicy(config, pick('idleTimeoutMillis', input, overrides));
  return Object.freeze({
    config,
    dial: preferred.dial,
    tls: preferred.tls,
    tokens: preferred.tokens,
    limiter: preferred.limiter,
    lifetime,
    connectDeadlineMs,
    retry: retryWithLogging(config.retry, logger),
    logger,
    stats,
    retryRequested: pick('retry', input, overrides) !== undefined,
    detectNestedTransactions,
    describeConnectError: preferred.describeConnectError,
    probeConnectAttempt: preferred.probeConnectAttempt,
    closeReason: (seen: { lost: boolean; idle: boolean; ageMs: number; idleMs: number }) => connectionCloseReason(seen, lifetime),
    endpoints,
    router: new EndpointRouter(endpoints, { selection: listed?.selection ?? 'ordered', probe: listed?.probe ?? DEFAULT_ENDPOINT_PROBE, stats, logger }),
  });
}
