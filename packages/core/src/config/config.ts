import { inspect } from 'node:util';
import { applicationName as defaultApplicationName, MAX_APPLICATION_NAME_BYTES } from './application-name.js';
import { checkCredentials, checkHostaddr, checkName, checkPort, checkSslMode, checkTokenDuration, sslFromOption } from './checks.js';
import { parseConnectionString, type ConnectionStringOptions } from './connection-string.js';
import type { CredentialsInput } from '../auth/credentials-types.js';
import { parseEndpoint } from './endpoint.js';
import { resolveTransport } from './transport.js';
import { DEFAULT_TOKEN_DURATION_SECS, type DsqlConfig, type DsqlConnectionOptions } from './options.js';

export type { DsqlConfig, DsqlConnectionOptions } from './options.js';
import { DsqlConfigError } from '../errors/errors.js';
import { resolveMaxLifetime } from '../connect/lifecycle.js';
import { resolveConnectRateLimit } from '../connect/rate-limiter.js';
import { describeValue, redact } from '../errors/redact.js';
import { resolveRetryOptions, type RetryOptions } from '../retry.js';
import type { SslMode } from '../connect/tls.js';

type Env = Record<string, string | undefined>;

const CLUSTER_ID = /^[a-z0-9]{26}$/;
const AMZN_CLUSTER_ID = /(?:^|\s)-c\s*amzn-cluster-id=([^\s]+)/;

function pick<T>(...values: (T | undefined)[]): T | undefined {
  for (const v of values) if (v !== undefined) return v;
  return undefined;
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

  const { transport, webSocketUrl, webSocketConstructor } = resolveTransport(explicit, endpoint.host, sslmode);
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
    transport,
    webSocketUrl,
  };
  // Secrets (credentials, TLS private keys) are non-enumerable: spreading or serialising a config never copies them.
  Object.defineProperty(config, 'credentials', { value: credentials, enumerable: false });
  Object.defineProperty(config, 'webSocketConstructor', { value: webSocketConstructor, enumerable: false });
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
