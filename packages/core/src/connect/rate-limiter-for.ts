import { redact } from '../errors/redact.js';
import { processWide, SharedRegistry, sharedRegistryNow } from '../shared-registry.js';
import { AdaptiveConnectRateLimiter } from './adaptive-rate-limiter.js';
import { BUCKET_FULL, CONFIGURED, ConnectRateLimiter, resolveConnectRateLimit, TIGHTEN, type ConnectRateLimitOptions, type ResolvedConnectRateLimit } from './rate-limiter.js';

/**
 * The parts of a resolved config that say whose connection quota a connection counts against.
 *
 * @example
 * connectRateLimiterFor(resolveConfig(options) satisfies ConnectRateLimitTarget);
 */
export interface ConnectRateLimitTarget {
  readonly host: string;
  readonly port: number;
  readonly region: string;
  readonly clusterId: string | undefined;
  readonly connectRateLimit: ResolvedConnectRateLimit | false;
}

/**
 * The key of the process-wide connection rate limiter for an endpoint: the cluster's public
 * endpoint name and the port (`<cluster id>.dsql.<region>.on.aws:5432`) whenever the cluster is
 * known — so its public endpoint, a PrivateLink endpoint of it, a `hostaddr`, and every adapter
 * (`@dsql/pg`, `@dsql/postgres`) share the cluster's quota — else the host and port (a custom host
 * without a cluster id, such as a proxy or a local endpoint). The port keeps two servers on one
 * host apart (local endpoints); DSQL itself always listens on 5432, so it never splits a cluster.
 *
 * @example
 * connectRateLimitKey(resolveConfig({ host: 'abcdefghijklmnopqrstuvwxyz.dsql-1a2b.us-east-1.on.aws' }))
 * // → 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws:5432'
 */
export function connectRateLimitKey(config: Omit<ConnectRateLimitTarget, 'connectRateLimit'>): string {
  const host = config.clusterId !== undefined ? `${config.clusterId}.dsql.${config.region}.on.aws` : config.host;
  return `${host.toLowerCase()}:${config.port}`;
}

/**
 * The process-wide {@link ConnectRateLimiter} a connection to `config`'s endpoint must wait for,
 * or `undefined` when `connectRateLimit` is `false`. Every adapter should get its limiter here,
 * so that all pools and clients of one cluster in a process — whatever the driver — draw from
 * one bucket (DSQL's quota is per cluster: 100 connections/s, burst 1,000). Differing options
 * follow {@link sharedConnectRateLimiter}'s contract: the stricter wins, with a warning.
 *
 * @example
 * const limiter = connectRateLimiterFor(config);
 * await limiter?.acquire({ signal }); // then dial
 */
export function connectRateLimiterFor(config: ConnectRateLimitTarget): ConnectRateLimiter | undefined {
  if (config.connectRateLimit === false) return undefined;
  return sharedConnectRateLimiter(connectRateLimitKey(config), config.connectRateLimit);
}

interface SharedLimiters {
  readonly limiters: SharedRegistry<ConnectRateLimiter>;
  /** Settings already warned about, per limiter (so a pool created per request warns once). */
  readonly warned: WeakMap<ConnectRateLimiter, Set<string>>;
}

/**
 * A limiter is held after its last lookup for as long as a drained bucket takes to refill, and
 * while its bucket is not full; afterwards it stays shared for as long as anyone (a pool) still
 * holds it. One that nobody holds and whose bucket is full is equivalent to a fresh one.
 */
function sharedLimiters(): SharedLimiters {
  return processWide('@dsql/core/connect-rate-limiters/v2', () => ({
    limiters: new SharedRegistry<ConnectRateLimiter>({
      holdMs: (limiter) => Math.ceil((limiter.burst * 1000) / limiter.perSecond),
      busy: (limiter) => !limiter[BUCKET_FULL](),
    }),
    warned: new WeakMap<ConnectRateLimiter, Set<string>>(),
  }));
}

function describeRate(limits: { perSecond: number; burst: number; adaptive?: boolean }): string {
  return `${limits.perSecond}/s, burst ${limits.burst}${limits.adaptive ? ', adaptive' : ''}`;
}

/** The limits a shared limiter was configured with (a limiter of an older copy of this package: its current ones). */
function configured(limiter: ConnectRateLimiter): ResolvedConnectRateLimit {
  const own = (limiter as Partial<Record<typeof CONFIGURED, () => ResolvedConnectRateLimit>>)[CONFIGURED];
  return typeof own === 'function' ? own.call(limiter) : { perSecond: limiter.perSecond, burst: limiter.burst, adaptive: false };
}

/**
 * The process-wide limiter for an endpoint (key: usually the cluster hostname, compared case-
 * insensitively), because the quota belongs to the cluster, not to a pool. Shared through
 * `globalThis`, so duplicate installs of this package share it too. The registry stays bounded:
 * a limiter nobody holds any more is dropped once its bucket has refilled (it is then the same
 * as a fresh one).
 *
 * Options contract: the first call creates the limiter with `options` (defaults: DSQL's quota).
 * A later call without options joins it as it is. A later call whose options differ lowers the
 * shared limiter to the stricter of the two, field by field (`perSecond` and `burst` each take
 * the lower value), so no pool of the process can exceed what any pool asked for, and emits a
 * one-time `process.emitWarning` (code `DSQL_CONNECT_RATE_LIMIT_MISMATCH`) naming the endpoint,
 * the limits in force and the limits asked for. Limits are never raised while the limiter lives:
 * to raise them, give every pool of the endpoint the new value. Whether the limiter is adaptive
 * (`adaptive: true`: an {@link AdaptiveConnectRateLimiter}) is decided by the first call; a later
 * call asking otherwise joins it as it is, with the same one-time warning.
 *
 * @example
 * const limiter = sharedConnectRateLimiter(config.host, config.connectRateLimit || undefined);
 */
export function sharedConnectRateLimiter(
  endpoint: string,
  options?: Omit<ConnectRateLimitOptions, 'now' | 'sleep'> & { adaptive?: boolean },
): ConnectRateLimiter {
  const key = endpoint.toLowerCase();
  const shared = sharedLimiters();
  const limiter = shared.limiters.get(key, () => {
    const limits = { perSecond: options?.perSecond, burst: options?.burst, now: sharedRegistryNow };
    return options?.adaptive === true ? new AdaptiveConnectRateLimiter(limits) : new ConnectRateLimiter(limits);
  });
  if (options === undefined) return limiter;
  const asked = resolveConnectRateLimit({ perSecond: options.perSecond, burst: options.burst, adaptive: options.adaptive }) as ResolvedConnectRateLimit;
  const before = configured(limiter);
  if (asked.perSecond === before.perSecond && asked.burst === before.burst && asked.adaptive === before.adaptive) return limiter;
  limiter[TIGHTEN](asked.perSecond, asked.burst);
  const setting = describeRate(asked);
  let warned = shared.warned.get(limiter);
  if (warned === undefined) shared.warned.set(limiter, (warned = new Set()));
  if (!warned.has(setting)) {
    warned.add(setting);
    process.emitWarning(
      `Connection rate limit for ${redact(endpoint)}: a pool asked for ${setting}, but this process already shares ${describeRate(before)} for that endpoint; ` +
        `every pool of it now uses the stricter ${describeRate({ ...configured(limiter), adaptive: before.adaptive })}. Give all pools of one endpoint the same connectRateLimit.`,
      { type: 'DsqlWarning', code: 'DSQL_CONNECT_RATE_LIMIT_MISMATCH' },
    );
  }
  return limiter;
}

/** Test hook: counts of the shared limiters. @internal */
export function sharedConnectRateLimiterStats(): { entries: number; held: number } {
  return sharedLimiters().limiters.stats();
}
