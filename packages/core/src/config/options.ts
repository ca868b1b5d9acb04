import type { CredentialsInput } from '../auth/credentials-types.js';
import type { SecondsWindow } from '../connect/lifecycle.js';
import type { ResolvedConnectRateLimit } from '../connect/rate-limiter.js';
import type { SslMode, UserTlsOptions } from '../connect/tls.js';
import type { ResolvedRetryOptions, RetryOptions } from '../retry.js';
import type { EndpointKind } from './endpoint.js';
import type { DsqlLogger } from '../diagnostics/logger.js';
import type { DsqlTransport, WebSocketConstructorLike } from './transport.js';

// The shapes on both sides of resolveConfig (config.ts): what users pass, what adapters get.

/**
 * Default token lifetime of the AWS SDK, in seconds.
 *
 * @example
 * new TokenProvider({ host, region, tokenDurationSecs: DEFAULT_TOKEN_DURATION_SECS })
 */
export const DEFAULT_TOKEN_DURATION_SECS = 900;
/**
 * Longest token lifetime DSQL accepts (one week).
 *
 * @example
 * resolveConfig({ host, tokenDurationSecs: MAX_TOKEN_DURATION_SECS }) // one-week tokens
 */
export const MAX_TOKEN_DURATION_SECS = 604_800;

/**
 * The connection options every adapter accepts (plus its driver's own, which are ignored
 * here). All optional; see {@link resolveConfig} for precedence and defaults.
 *
 * @example
 * const options: DsqlConnectionOptions = { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', user: 'app', profile: 'dev' };
 */
export interface DsqlConnectionOptions {
  /** `postgres://`, `postgresql://` or `dsql://` URL; explicit options win over it. */
  connectionString?: string;
  /** Cluster endpoint, bare cluster id, or any hostname/IP (then `region` is needed). */
  host?: string;
  /** AWS Region; default: from the endpoint, else `AWS_REGION` / `AWS_DEFAULT_REGION`. */
  region?: string;
  /** Default 5432. */
  port?: number | string;
  /** Database role; default `admin` (which signs `DbConnectAdmin` tokens). */
  user?: string;
  /** Default `postgres`. */
  database?: string;
  /** Address to dial instead of resolving `host`; `host` still drives SNI, certificate check and token. */
  hostaddr?: string;
  /** Cluster id to name with the `amzn-cluster-id` startup option (PrivateLink endpoint without private DNS). */
  clusterId?: string;
  /** AWS identity or provider; default: `profile`, else the default credential chain. */
  credentials?: CredentialsInput;
  /** Named profile of the shared AWS config files (`fromIni`). */
  profile?: string;
  /** Token lifetime, 1..604800; default 900. */
  tokenDurationSecs?: number;
  /** Force `DbConnectAdmin` (true) or `DbConnect` (false); default: `user === 'admin'`. */
  admin?: boolean;
  /** `verify-full` (default), `verify-ca`, `require`, or `disable` (custom hosts only). */
  sslmode?: SslMode;
  /** Driver TLS options merged over the defaults (`{ ca }`…), `true`, `false` (= `sslmode: 'disable'`) or an sslmode string. */
  ssl?: boolean | SslMode | UserTlsOptions;
  /** OCC retry options for transactions, or `false`. */
  retry?: RetryOptions | boolean;
  /** A number, or a `[min, max]` window each connection draws from; default `[2700, 3300]`. */
  maxLifetimeSeconds?: number | SecondsWindow;
  /**
   * `{ perSecond, burst, adaptive }` or `false`; default 100/s, burst 1,000, fixed, shared by the
   * process per cluster. `adaptive: true` backs off on 53400 answers and probes upward again, so
   * a fleet of processes finds its share of the cluster's quota (see `AdaptiveConnectRateLimiter`).
   */
  connectRateLimit?: { perSecond?: number; burst?: number; adaptive?: boolean } | boolean;
  /** `application_name`; default identifies this library (at most 63 bytes). */
  applicationName?: string;
  /** Prefix of the default `application_name` (an ORM or adapter name). */
  applicationNamePrefix?: string;
  /** PostgreSQL startup `options` (e.g. `-c search_path=app`). */
  options?: string;
  /**
   * A multi-Region cluster's Regional endpoints, most preferred first (instead of `host`): host
   * strings, or `{ host, region?, port?, hostaddr?, ssl? }` (a local endpoint's
   * `connectionOptions()` is accepted as an entry). Each endpoint gets its own token (signed for
   * its host and Region) and its own connection rate limiter; a failed, refused or timed-out
   * connection attempt marks an endpoint unhealthy, new connections go to the next healthy one,
   * and a background probe restores it. See the README's multi-Region section.
   */
  endpoints?: readonly (string | DsqlEndpointOption)[];
  /** With `endpoints`: `'ordered'` (default: the first healthy endpoint listed) or `'latency'` (the healthy one with the lowest measured connect time). */
  endpointSelection?: EndpointSelection;
  /** With `endpoints`: the backoff of the probe that restores an unhealthy endpoint. */
  endpointProbe?: EndpointProbeOptions;
  /**
   * A pino-style logger (`debug`, `info`, `warn`, `error` methods taking `(fields, message)`), told
   * what the library decides on its own: failed connection attempts, retried transactions,
   * recycled and server-closed connections. Only names, numbers and error kinds are logged.
   */
  logger?: DsqlLogger;
  /**
   * `'tcp'` (default) or `'websocket'`: PostgreSQL over WebSocket (`webSocketUrl`), for browsers
   * and runtimes without TCP sockets. Same tokens, rate limit, retries and lifetimes.
   */
  transport?: DsqlTransport;
  /** With `transport: 'websocket'`: the URL to open; default `wss://<host>:443`. */
  webSocketUrl?: string;
  /**
   * With `transport: 'websocket'`: the WebSocket constructor; default the runtime's global
   * `WebSocket`. On Node 20 pass the `ws` package's (`import { WebSocket } from 'ws'`), which
   * also takes `ssl.ca`, the servername and `hostaddr`.
   */
  webSocketConstructor?: WebSocketConstructorLike;
}

/**
 * One entry of the `endpoints` option.
 *
 * @example
 * const entry: DsqlEndpointOption = { host: 'bbbbbbbbbbbbbbbbbbbbbbbbbb.dsql.us-east-2.on.aws', hostaddr: '10.1.0.7' };
 */
export interface DsqlEndpointOption {
  host: string;
  /** Default: the Region the hostname names, else the shared `region`. */
  region?: string;
  /** Default: the shared `port` (5432). */
  port?: number | string;
  /** Address to dial for this endpoint; `host` still drives SNI, certificate check and token. */
  hostaddr?: string;
  /** TLS for this endpoint (as the shared `ssl`); default: the shared `ssl`. */
  ssl?: boolean | SslMode | UserTlsOptions;
  sslmode?: SslMode;
  clusterId?: string;
  /** Must equal the shared user (accepted so a local endpoint's `connectionOptions()` fits as is). */
  user?: string;
  /** Must equal the shared database. */
  database?: string;
  /** This endpoint's AWS identity; default: the shared `credentials`. */
  credentials?: CredentialsInput;
}

/**
 * How the endpoint of a new connection is chosen among the healthy ones.
 *
 * @example
 * const selection: EndpointSelection = 'latency';
 */
export type EndpointSelection = 'ordered' | 'latency';

/**
 * The health checks of `endpoints`. An unhealthy endpoint is probed (one real connection) after
 * `baseDelayMs` (default 1,000), doubling per failed probe up to `maxDelayMs` (default 30,000);
 * every endpoint, healthy ones included, is also checked every `intervalMs` (default 30,000);
 * each delay is jittered ±25 %. A probe, or a connection attempt while another endpoint is
 * healthy to fall back to, that takes longer than `timeoutMs` (default 10,000) failed; an attempt
 * with no healthy endpoint to fall back to is bounded by the connect deadline only.
 *
 * `suspectAfterMs` (default 5,000; `0` or `false` turns it off): a statement left unanswered
 * this long makes its endpoint *suspected*, and that endpoint's health check runs at once instead
 * of at its next periodic turn. If the check fails or takes longer than `timeoutMs`, the endpoint
 * is marked unhealthy as by the periodic check (its idle connections closed, busy ones failed
 * with a connection error): a blackholed Region holds a statement for about
 * `suspectAfterMs + timeoutMs`, not `intervalMs + timeoutMs`. If it answers, nothing happens to
 * the statement — a slow query on a healthy endpoint is never cut short — and a statement that
 * stays unanswered is checked again after a quiet period that doubles each time, up to
 * `intervalMs`. With one endpoint (nowhere to fail over to) statements are not followed.
 *
 * `drainAfterFailbackMs` (default: none): after failback to a more preferred endpoint, a pool's
 * connections still open on the other endpoints are closed once this many milliseconds have
 * passed — idle ones then, busy ones when released (node-postgres) or at their next idle point
 * (Postgres.js), never mid-query or mid-transaction — instead of living out their lifetime.
 *
 * @example
 * const probe: EndpointProbeOptions = { baseDelayMs: 500, maxDelayMs: 10_000, intervalMs: 15_000, timeoutMs: 3000, suspectAfterMs: 2000, drainAfterFailbackMs: 5000 };
 */
export interface EndpointProbeOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  intervalMs?: number;
  /** A statement unanswered this long has its endpoint checked at once (default 5,000; `0` or `false`: only the periodic check). */
  suspectAfterMs?: number | false;
  /** After failback, close the other endpoints' connections after this many ms (idle ones then, busy ones at release). Default: they drain through their lifetime. */
  drainAfterFailbackMs?: number;
}

/**
 * {@link EndpointProbeOptions} with its defaults applied (`drainAfterFailbackMs` stays optional:
 * no default). `suspectAfterMs` is a number, `0` when turned off (absent: off, for a router built
 * by hand; `resolveEndpoints` always sets it).
 *
 * @example
 * const probe: ResolvedEndpointProbe = { baseDelayMs: 1000, maxDelayMs: 30_000, timeoutMs: 10_000, intervalMs: 30_000, suspectAfterMs: 5000 };
 */
export type ResolvedEndpointProbe = Required<Omit<EndpointProbeOptions, 'drainAfterFailbackMs' | 'suspectAfterMs'>> &
  Pick<EndpointProbeOptions, 'drainAfterFailbackMs'> & { suspectAfterMs?: number };

/**
 * A fully resolved, frozen configuration. `credentials` and `ssl` are non-enumerable and never inspected.
 *
 * @example
 * const config: DsqlConfig = resolveConfig({ host, hostaddr: '10.0.0.5' });
 * socket.connect(config.port, config.dialHost); // TLS and token still use config.host / config.tokenHost
 */
export interface DsqlConfig {
  /** Cluster hostname (or custom host): TLS identity and SNI. */
  readonly host: string;
  /** Address to dial, when given. */
  readonly hostaddr: string | undefined;
  /** What the driver connects to: `hostaddr ?? host`. */
  readonly dialHost: string;
  /** The hostname the IAM token is signed for. */
  readonly tokenHost: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly region: string;
  readonly kind: EndpointKind;
  readonly clusterId: string | undefined;
  /** `DbConnectAdmin` (true) or `DbConnect` (false). */
  readonly admin: boolean;
  readonly credentials: CredentialsInput | undefined;
  readonly profile: string | undefined;
  readonly tokenDurationSecs: number;
  readonly sslmode: SslMode;
  /** User TLS options to merge into a session's `tls`. */
  readonly ssl: UserTlsOptions | undefined;
  readonly retry: ResolvedRetryOptions | false;
  readonly maxLifetimeSeconds: SecondsWindow;
  readonly connectRateLimit: ResolvedConnectRateLimit | false;
  readonly applicationName: string;
  /** Startup `options`, including `-c amzn-cluster-id=<id>` when needed. */
  readonly options: string | undefined;
  /** `'tcp'` or `'websocket'`. */
  readonly transport: DsqlTransport;
  /** With `'websocket'`: the URL to open. */
  readonly webSocketUrl: string | undefined;
  /** With `'websocket'`: the constructor given (non-enumerable); undefined: the runtime's global `WebSocket`. */
  readonly webSocketConstructor: WebSocketConstructorLike | undefined;
}
