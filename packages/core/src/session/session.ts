import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { tokenProviderFor, type TokenProvider } from '../auth/token-provider.js';
import { resolveConfig, type DsqlConfig, type DsqlConnectionOptions } from '../config/config.js';
import { describeConnectError } from '../connect/describe-connect-error.js';
import { classifyInPlace } from '../errors/funnel.js';
import { LifecyclePolicy } from '../connect/lifecycle.js';
import { connectRateLimiterFor } from '../connect/rate-limiter-for.js';
import type { ConnectRateLimiter } from '../connect/rate-limiter.js';
import { tlsOptions } from '../connect/tls.js';
import { DsqlConfigError } from '../errors/errors.js';
import { resolveDetectNestedTransactions } from '../transaction/nested.js';
import { describeValue } from '../errors/redact.js';
import type { ResolvedRetryOptions } from '../retry.js';
import { connectionCloseReason, probeConnectAttempt, type ConnectAttemptProbe } from '../diagnostics/connect-probe.js';
import type { DsqlConnectionCloseReason } from '../diagnostics/channels.js';

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
 * Where a connection goes: dial `address` (`hostaddr` when given, else `host`) on `port`, and
 * name `host` in TLS (`servername`, `undefined` for an IP host: SNI carries names only) and in
 * the certificate check.
 *
 * @example
 * net.connect({ host: session.dial.address, port: session.dial.port });
 */
export interface DsqlDialTarget {
  /** The cluster hostname (or custom host): SNI and certificate identity. */
  readonly host: string;
  readonly port: number;
  /** The address given to dial instead of resolving `host`, if any. */
  readonly hostaddr: string | undefined;
  /** What to connect the socket to: `hostaddr ?? host`. */
  readonly address: string;
  /** The TLS SNI name: `host`, or `undefined` when `host` is an IP address. */
  readonly servername: string | undefined;
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
  /** The resolved default OCC retry of transactions, or `false`. */
  readonly retry: ResolvedRetryOptions | false;
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
  const config = resolveConfig(input, overrides, env);
  const detectNestedTransactions = resolveDetectNestedTransactions(pick('detectNestedTransactions', input, overrides));
  const connectDeadlineMs = deadlineOption(pick('connectDeadlineMs', input, overrides));
  const lifetime = lifetimePolicy(config, pick('idleTimeoutMillis', input, overrides));
  // What every diagnostics message of this session's connections names (no credentials).
  const where = Object.freeze({ endpoint: config.host, region: config.region, port: config.port, user: config.user });
  return Object.freeze({
    config,
    dial: Object.freeze({
      host: config.host,
      port: config.port,
      hostaddr: config.hostaddr,
      address: config.dialHost,
      servername: isIP(config.host) === 0 ? config.host : undefined,
    }),
    tls: tlsOptions(config),
    tokens: tokenProviderFor(config),
    // One limiter per cluster in the process, whatever the driver or the host name used to reach it.
    limiter: connectRateLimiterFor(config),
    lifetime,
    connectDeadlineMs,
    retry: config.retry,
    retryRequested: pick('retry', input, overrides) !== undefined,
    detectNestedTransactions,
    // Through the error funnel: a refused connection carries err.dsql, its hint for this connection.
    describeConnectError: (err: unknown) => classifyInPlace(describeConnectError(err, config), config),
    probeConnectAttempt: () => probeConnectAttempt(where),
    closeReason: (seen: { lost: boolean; idle: boolean; ageMs: number; idleMs: number }) => connectionCloseReason(seen, lifetime),
  });
}
