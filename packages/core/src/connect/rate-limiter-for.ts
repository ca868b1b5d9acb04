import { sharedConnectRateLimiter, type ConnectRateLimiter } from './rate-limiter.js';

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
  readonly connectRateLimit: { readonly perSecond: number; readonly burst: number } | false;
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
