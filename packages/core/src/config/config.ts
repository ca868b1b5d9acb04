import { isIP } from 'node:net';
import { inspect } from 'node:util';
import { applicationName as defaultApplicationName, MAX_APPLICATION_NAME_BYTES } from './application-name.js';
import { parseConnectionString, type ConnectionStringOptions } from './connection-string.js';
import type { CredentialsInput } from '../auth/credentials-types.js';
import { normalizeHost, parseEndpoint, type EndpointKind } from './endpoint.js';
import { DsqlConfigError } from '../errors/errors.js';
import { resolveMaxLifetime, type SecondsWindow } from '../connect/lifecycle.js';
import { resolveConnectRateLimit } from '../connect/rate-limiter.js';
import { describeValue, redact } from '../errors/redact.js';
import { resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions } from '../retry.js';
import type { SslMode, UserTlsOptions } from '../connect/tls.js';

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
  /** `{ perSecond, burst }` or `false`; default 100/s, burst 1,000, shared by the process per endpoint. */
  connectRateLimit?: { perSecond?: number; burst?: number } | boolean;
  /** `application_name`; default identifies this library (at most 63 bytes). */
  applicationName?: string;
  /** Prefix of the default `application_name` (an ORM or adapter name). */
  applicationNamePrefix?: string;
  /** PostgreSQL startup `options` (e.g. `-c search_path=app`). */
  options?: string;
}

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
  readonly connectRateLimit: { readonly perSecond: number; readonly burst: number } | false;
  readonly applicationName: string;
  /** Startup `options`, including `-c amzn-cluster-id=<id>` when needed. */
  readonly options: string | undefined;
}

type Env = Record<string, string | undefined>;

const SSL_MODES: readonly SslMode[] = ['verify-full', 'verify-ca', 'require', 'disable'];
const CLUSTER_ID = /^[a-z0-9]{26}$/;
const AMZN_CLUSTER_ID = /(?:^|\s)-c\s*amzn-cluster-id=([^\s]+)/;

function pick<T>(...values: (T | undefined)[]): T | undefined {
  for (const v of values) if (v !== undefined) return v;
  return undefined;
}

function checkName(field: string, value: unknown, what: string): string {
  if (typeof value === 'string' && value.length > 0 && Buffer.byteLength(value) <= 63 && !/[\0]/.test(value)) return value;
  throw new DsqlConfigError(field, describeValue(value), `${what}: a non-empty string of at most 63 bytes`);
}

function checkPort(value: unknown, field: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535) return n;
  throw new DsqlConfigError(field, describeValue(value), 'an integer from 1 to 65535');
}

/**
 * Validates a token lifetime.
 *
 * @example
 * checkTokenDuration(3600) // → 3600
 */
export function checkTokenDuration(value: unknown, field = 'tokenDurationSecs'): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_TOKEN_DURATION_SECS) return value;
  throw new DsqlConfigError(field, describeValue(value), `an integer number of seconds from 1 to ${MAX_TOKEN_DURATION_SECS} (one week)`);
}

/**
 * Validates credentials: an identity `{ accessKeyId, secretAccessKey, sessionToken? }` or a
 * provider function. The error never shows their values.
 *
 * @example
 * checkCredentials(fromIni({ profile: 'dev' }))
 */
export function checkCredentials(value: unknown, field = 'credentials'): CredentialsInput | undefined {
  if (value === undefined || typeof value === 'function') return value as CredentialsInput | undefined;
  if (typeof value === 'object' && value !== null) {
    const c = value as Record<string, unknown>;
    if (typeof c.accessKeyId === 'string' && c.accessKeyId !== '' && typeof c.secretAccessKey === 'string' && c.secretAccessKey !== '') {
      if (c.sessionToken !== undefined && typeof c.sessionToken !== 'string') {
        throw new DsqlConfigError(`${field}.sessionToken`, 'a non-string value', 'a string');
      }
      if (c.expiration !== undefined && !(c.expiration instanceof Date)) {
        throw new DsqlConfigError(`${field}.expiration`, describeValue(c.expiration), 'a Date');
      }
      return value as CredentialsInput;
    }
  }
  throw new DsqlConfigError(
    field,
    typeof value === 'object' && value !== null ? 'an object without accessKeyId/secretAccessKey strings' : describeValue(value),
    'an AWS identity { accessKeyId, secretAccessKey, sessionToken? } or a provider function such as fromIni() / fromNodeProviderChain()',
  );
}

function sslFromOption(ssl: unknown): { mode?: SslMode; tls?: UserTlsOptions } {
  if (ssl === undefined) return {};
  if (ssl === true) return { mode: 'verify-full' };
  if (ssl === false) return { mode: 'disable' };
  if (typeof ssl === 'string') return { mode: checkSslMode(ssl, 'ssl') };
  if (typeof ssl === 'object' && ssl !== null && !Array.isArray(ssl)) {
    const rejectUnauthorized = (ssl as { rejectUnauthorized?: unknown }).rejectUnauthorized;
    return { tls: Object.freeze({ ...(ssl as UserTlsOptions) }), ...(rejectUnauthorized === false ? { mode: 'require' as const } : {}) };
  }
  throw new DsqlConfigError('ssl', describeValue(ssl), `true, false, one of ${SSL_MODES.join(', ')}, or Node TLS options ({ ca, ... })`);
}

function checkSslMode(value: unknown, field: string): SslMode {
  if (typeof value === 'string' && (SSL_MODES as readonly string[]).includes(value)) return value as SslMode;
  const extra = value === 'prefer' || value === 'allow' ? ' (DSQL always requires TLS, so "prefer"/"allow" are not offered)' : '';
  throw new DsqlConfigError(field, describeValue(value) + extra, `one of ${SSL_MODES.join(', ')}`);
}

/** Environment fallbacks, unvalidated: a malformed variable only matters when it is used. */
function fromEnv(env: Env): Omit<ConnectionStringOptions, 'port'> & { port?: string } {
  const out: Omit<ConnectionStringOptions, 'port'> & { port?: string } = {};
  if (env.PGHOST) out.host = env.PGHOST;
  if (env.PGHOSTADDR) out.hostaddr = env.PGHOSTADDR;
  if (env.PGPORT) out.port = env.PGPORT;
  if (env.PGUSER) out.user = env.PGUSER;
  if (env.PGDATABASE) out.database = env.PGDATABASE;
  if (env.AWS_PROFILE) out.profile = env.AWS_PROFILE;
  return out;
}

function hostaddrField(explicit: unknown, url: unknown): string {
  return explicit !== undefined ? 'hostaddr' : url !== undefined ? 'connectionString hostaddr' : 'PGHOSTADDR';
}

/** `hostaddr` is an address to dial, as in libpq: a numeric IPv4 or IPv6 address, never a name. */
function checkHostaddr(value: unknown, field: string): string {
  const h = normalizeHost(value, field);
  if (isIP(h) === 0) {
    throw new DsqlConfigError(
      field,
      describeValue(value),
      'a numeric IPv4 or IPv6 address to dial (such as "10.0.0.7"); a host name belongs in host',
    );
  }
  return h;
}

function definedOnly(input: object | undefined): DsqlConnectionOptions {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new DsqlConfigError('options', describeValue(input), 'a connection string or an options object');
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) out[k] = v;
  return out as DsqlConnectionOptions;
}

const INSPECT = inspect.custom;

/**
 * Resolves connection options into a frozen {@link DsqlConfig}. Precedence, field by field:
 * `overrides` > options of `input` > connection string (`input` as a string, or its
 * `connectionString`) > environment (`PGHOST`, `PGHOSTADDR`, `PGPORT`, `PGUSER`, `PGDATABASE`,
 * `AWS_REGION`, `AWS_DEFAULT_REGION`, `AWS_PROFILE`) > defaults (user `admin`, database
 * `postgres`, port 5432, sslmode `verify-full`, token 900 s, lifetime `[2700, 3300]`, connect
 * rate 100/s burst 1,000). Every option is validated; errors name the field, the redacted value
 * and what is accepted. Inputs are never mutated. Unknown keys (a driver's own options) are ignored.
 *
 * `sslmode=disable` is refused whenever the token would be a real cluster's: for a DSQL endpoint
 * (DSQL requires TLS) and for a custom host with a `clusterId` / `amzn-cluster-id` (the token is
 * signed for the cluster's own hostname). It is allowed, when asked for, only for a custom host
 * without one (a local endpoint, whose tokens no cluster accepts). A custom host with a `clusterId` (or `-c amzn-cluster-id=…`
 * in `options`) is a PrivateLink endpoint without private DNS: the token is signed for
 * `<clusterId>.dsql.<region>.on.aws` and sslmode defaults to `verify-ca`, because the endpoint's
 * certificate does not name its own hostname (AWS documents verify-full as unsupported there;
 * prefer `hostaddr` with the cluster hostname, which keeps verify-full).
 *
 * @example
 * const config = resolveConfig('postgres://admin@abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws/postgres', { tokenDurationSecs: 3600 });
 * config.region // 'us-east-1'
 */
export function resolveConfig(
  input?: string | DsqlConnectionOptions,
  overrides?: DsqlConnectionOptions,
  env: Env = process.env,
): DsqlConfig {
  const explicitInput = typeof input === 'string' ? {} : definedOnly(input);
  const explicit: DsqlConnectionOptions = { ...explicitInput, ...definedOnly(overrides) };
  const urlText = typeof input === 'string' ? input : explicit.connectionString;
  if (urlText !== undefined && typeof urlText !== 'string') {
    throw new DsqlConfigError('connectionString', describeValue(urlText), 'a postgres://, postgresql:// or dsql:// URL');
  }
  const url = urlText === undefined ? {} : parseConnectionString(urlText);
  const envOpts = fromEnv(env);

  // Host and region.
  const hostSource = explicit.host !== undefined ? 'host' : url.host !== undefined ? 'connectionString host' : 'PGHOST';
  const rawHost = pick(explicit.host, url.host, envOpts.host);
  if (rawHost === undefined) {
    throw new DsqlConfigError('host', 'nothing', 'a cluster endpoint or cluster id via the host option, a connection string, or PGHOST');
  }
  if (typeof rawHost !== 'string') throw new DsqlConfigError(hostSource, describeValue(rawHost), 'a hostname string');
  const regionInput = pick<unknown>(explicit.region, url.region);
  if (regionInput !== undefined && typeof regionInput !== 'string') {
    throw new DsqlConfigError('region', describeValue(regionInput), 'an AWS Region name such as "us-east-1"');
  }
  let endpoint;
  try {
    endpoint = parseEndpoint(rawHost, { region: regionInput, env });
  } catch (err) {
    if (err instanceof DsqlConfigError && err.field === 'host' && hostSource !== 'host') {
      throw new DsqlConfigError(hostSource, describeValue(rawHost), err.message.replace(/^.*expected /, '').replace(/\.$/, ''));
    }
    throw err;
  }

  const rawHostaddr = pick<unknown>(explicit.hostaddr, url.hostaddr, envOpts.hostaddr);
  const hostaddr = rawHostaddr === undefined ? undefined : checkHostaddr(rawHostaddr, hostaddrField(explicit.hostaddr, url.hostaddr));

  const portField = explicit.port !== undefined ? 'port' : url.port !== undefined ? 'connectionString port' : envOpts.port !== undefined ? 'PGPORT' : 'port';
  const port = checkPort(pick<unknown>(explicit.port, url.port, envOpts.port) ?? 5432, portField);
  const user = checkName('user', pick<unknown>(explicit.user, url.user, envOpts.user) ?? 'admin', 'a database role');
  const database = checkName('database', pick<unknown>(explicit.database, url.database, envOpts.database) ?? 'postgres', 'a database name');

  const admin = explicit.admin ?? user === 'admin';
  if (typeof admin !== 'boolean') throw new DsqlConfigError('admin', describeValue(admin), 'true or false');

  const credentials = checkCredentials(explicit.credentials);
  const profile = pick<unknown>(explicit.profile, url.profile, envOpts.profile);
  if (profile !== undefined && (typeof profile !== 'string' || !/^[\w.+@/:-]{1,128}$/.test(profile))) {
    throw new DsqlConfigError('profile', describeValue(profile), 'a profile name from ~/.aws/config or ~/.aws/credentials');
  }
  const tokenDurationSecs = checkTokenDuration(pick<unknown>(explicit.tokenDurationSecs, url.tokenDurationSecs) ?? DEFAULT_TOKEN_DURATION_SECS);

  // Startup options and the PrivateLink cluster id.
  const rawOptions = pick<unknown>(explicit.options, url.options);
  if (rawOptions !== undefined && typeof rawOptions !== 'string') {
    throw new DsqlConfigError('options', describeValue(rawOptions), 'a string of startup options such as "-c search_path=app"');
  }
  const optionsClusterId = rawOptions === undefined ? undefined : AMZN_CLUSTER_ID.exec(rawOptions)?.[1];
  const rawClusterId = pick<unknown>(explicit.clusterId, optionsClusterId);
  let clusterId = endpoint.clusterId;
  let options = rawOptions as string | undefined;
  let tokenHost = endpoint.host;
  let amznClusterId = false;
  if (rawClusterId !== undefined) {
    const id = typeof rawClusterId === 'string' ? rawClusterId.toLowerCase() : rawClusterId;
    if (typeof id !== 'string' || !CLUSTER_ID.test(id)) {
      throw new DsqlConfigError('clusterId', describeValue(rawClusterId), 'a 26-character cluster id (lower-case letters and digits)');
    }
    if (clusterId !== undefined && clusterId !== id) {
      throw new DsqlConfigError('clusterId', describeValue(id), `the cluster id of the host ("${clusterId}"), or none`);
    }
    if (endpoint.kind === 'custom') {
      clusterId = id;
      amznClusterId = true;
      tokenHost = `${id}.dsql.${endpoint.region}.on.aws`;
      if (optionsClusterId === undefined) options = `${options ? `${options} ` : ''}-c amzn-cluster-id=${id}`;
    }
  }

  // TLS.
  const fromSsl = sslFromOption(explicit.ssl);
  const explicitMode = explicit.sslmode === undefined ? undefined : checkSslMode(explicit.sslmode, 'sslmode');
  const urlMode = url.sslmode === undefined ? undefined : checkSslMode(url.sslmode, 'connectionString sslmode');
  const sslmode: SslMode = explicitMode ?? fromSsl.mode ?? urlMode ?? (amznClusterId ? 'verify-ca' : 'verify-full');
  // The one rule for clear text: only a token no real cluster would accept may travel without
  // TLS. A token is signed for `tokenHost`; when that is a cluster's endpoint (a DSQL host, or a
  // custom host naming its cluster with clusterId / amzn-cluster-id), it is that cluster's token.
  if (sslmode === 'disable' && endpoint.kind !== 'custom') {
    throw new DsqlConfigError(
      'sslmode',
      '"disable"',
      'verify-full, verify-ca or require: Aurora DSQL only accepts TLS connections, and the IAM token must not travel in clear text',
    );
  }
  if (sslmode === 'disable' && amznClusterId) {
    throw new DsqlConfigError(
      'sslmode',
      `"disable" with cluster id "${clusterId}"`,
      `verify-full, verify-ca or require: with a cluster id the IAM token is signed for the real cluster (${tokenHost}) and must never travel in clear text; ` +
        'sslmode "disable" is only for a local endpoint whose host is not a cluster\'s (no clusterId or amzn-cluster-id)',
    );
  }

  const retry = resolveRetryOptions(explicit.retry as RetryOptions | boolean | undefined);
  const maxLifetimeSeconds = resolveMaxLifetime(explicit.maxLifetimeSeconds);
  const connectRateLimit = resolveConnectRateLimit(explicit.connectRateLimit);

  const rawAppName = pick<unknown>(explicit.applicationName, url.applicationName);
  let applicationName: string;
  if (rawAppName !== undefined) {
    if (typeof rawAppName !== 'string' || Buffer.byteLength(rawAppName) > MAX_APPLICATION_NAME_BYTES || /[^\x20-\x7e]/.test(rawAppName)) {
      throw new DsqlConfigError('applicationName', describeValue(rawAppName), 'printable ASCII of at most 63 bytes');
    }
    applicationName = rawAppName;
  } else {
    const prefix = explicit.applicationNamePrefix;
    if (prefix !== undefined && typeof prefix !== 'string') {
      throw new DsqlConfigError('applicationNamePrefix', describeValue(prefix), 'a short string such as "drizzle"');
    }
    applicationName = defaultApplicationName(prefix);
  }

  const config = {
    host: endpoint.host,
    hostaddr,
    dialHost: hostaddr ?? endpoint.host,
    tokenHost,
    port,
    user,
    database,
    region: endpoint.region,
    kind: endpoint.kind,
    clusterId,
    admin,
    profile: profile as string | undefined,
    tokenDurationSecs,
    sslmode,
    retry,
    maxLifetimeSeconds,
    connectRateLimit,
    applicationName,
    options,
  };
  // Secrets (credentials, TLS private keys) are non-enumerable: spreading or serialising a config never copies them.
  Object.defineProperty(config, 'credentials', { value: credentials, enumerable: false });
  Object.defineProperty(config, 'ssl', { value: fromSsl.tls, enumerable: false });
  Object.defineProperty(config, INSPECT, { value: inspectConfig, enumerable: false });
  Object.defineProperty(config, 'toJSON', { value: configToJSON, enumerable: false });
  return Object.freeze(config) as DsqlConfig;
}

function credentialsLabel(c: CredentialsInput | undefined): string | undefined {
  if (c === undefined) return undefined;
  return typeof c === 'function' ? '[provider function]' : '[redacted identity]';
}

function configToJSON(this: DsqlConfig): Record<string, unknown> {
  return { ...this, credentials: credentialsLabel(this.credentials), ssl: this.ssl ? '[tls options]' : undefined };
}

function inspectConfig(this: DsqlConfig, depth: number, options: object): string {
  // Redacted as a whole too: a secret pasted into any field (a URL as database name…) stays out of logs.
  return redact(`DsqlConfig ${inspect({ ...this, credentials: credentialsLabel(this.credentials), ssl: this.ssl ? '[tls options]' : undefined }, { ...options, depth })}`);
}
