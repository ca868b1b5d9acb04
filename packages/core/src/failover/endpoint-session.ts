// What a connection to one endpoint needs, resolved from that endpoint's config: every endpoint
// of a multi-Region cluster has its own (a token signed for its host and Region, its own rate
// quota, its own TLS identity), and a session with one host has exactly one of these.
import { ipVersion } from '../config/ip-address.js';
import type { ConnectionOptions } from 'node:tls';
import { tokenProviderFor, type TokenProvider } from '../auth/token-provider.js';
import type { DsqlConfig } from '../config/options.js';
import { describeConnectError } from '../connect/describe-connect-error.js';
import { connectRateLimiterFor } from '../connect/rate-limiter-for.js';
import type { ConnectRateLimiter } from '../connect/rate-limiter.js';
import { tlsOptions } from '../connect/tls.js';
import { probeConnectAttempt, type ConnectAttemptProbe } from '../diagnostics/connect-probe.js';
import type { DsqlLogger } from '../diagnostics/logger.js';
import type { DsqlStatsRecorder } from '../diagnostics/stats.js';
import { classifyInPlace } from '../errors/funnel.js';
import type { DsqlEndpointRef } from './events.js';

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
 * Everything a connection to one endpoint needs. `session.endpoints` lists one per endpoint
 * (one for a session with a single `host`); `session.router.attempt()` says which to use.
 *
 * @example
 * const { endpoint } = session.router.attempt();
 * await endpoint.limiter?.acquire();
 * const socket = tls.connect({ host: endpoint.dial.address, port: endpoint.dial.port, ...endpoint.tls });
 * const password = await endpoint.tokens.getToken(); // signed for this endpoint's host and Region only
 */
export interface DsqlEndpointSession {
  /** How events and errors name this endpoint (hostname, Region, port, position in `endpoints`). */
  readonly ref: DsqlEndpointRef;
  /** This endpoint's resolved config (host, Region, port, TLS mode; shared options as the session's). */
  readonly config: DsqlConfig;
  readonly dial: DsqlDialTarget;
  /** Node TLS options for this endpoint, or `false` for `sslmode: 'disable'`. */
  readonly tls: ConnectionOptions | false;
  /** The process's shared token provider for this endpoint's host, Region, role and identity. */
  readonly tokens: TokenProvider;
  /** The process-wide connection rate limiter of this endpoint's cluster, or `undefined` when `connectRateLimit` is `false`. */
  readonly limiter: ConnectRateLimiter | undefined;
  /** Turns a refused connection to this endpoint into an error saying what to check next. */
  describeConnectError(err: unknown): unknown;
  /** A diagnostics probe for one connection attempt to this endpoint (see `DsqlSession.probeConnectAttempt`). */
  probeConnectAttempt(): ConnectAttemptProbe;
}

/**
 * The {@link DsqlEndpointSession} of one resolved endpoint config.
 *
 * @example
 * const endpoint = endpointSession(resolveConfig({ host }), 0);
 */
export function endpointSession(config: DsqlConfig, index: number, logger?: DsqlLogger, stats?: DsqlStatsRecorder): DsqlEndpointSession {
  // What every diagnostics message of this endpoint's connections names (no credentials).
  const where = Object.freeze({ endpoint: config.host, region: config.region, port: config.port, user: config.user, database: config.database });
  const tokens = tokenProviderFor(config);
  // The provider is shared by the process: it tells every session's logger of a stale token served.
  if (logger !== undefined) tokens.logTo(logger);
  return Object.freeze({
    ref: Object.freeze({ endpoint: config.host, region: config.region, port: config.port, index }),
    config,
    dial: Object.freeze({
      host: config.host,
      port: config.port,
      hostaddr: config.hostaddr,
      address: config.dialHost,
      servername: ipVersion(config.host) === 0 ? config.host : undefined,
    }),
    tls: tlsOptions(config),
    tokens,
    // One limiter per cluster in the process, whatever the driver or the host name used to reach it.
    limiter: connectRateLimiterFor(config),
    // Through the error funnel: a refused connection carries err.dsql, its hint for this connection.
    describeConnectError: (err: unknown) => classifyInPlace(describeConnectError(err, config), config),
    probeConnectAttempt: () => probeConnectAttempt(where, logger, stats),
  });
}
