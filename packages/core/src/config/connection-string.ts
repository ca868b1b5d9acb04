import { DsqlConfigError } from '../errors/errors.js';
import { describeValue, redact } from '../errors/redact.js';

/**
 * Options a connection string can carry, still unvalidated (config validates them).
 *
 * @example
 * const { host, region }: ConnectionStringOptions = parseConnectionString(url);
 */
export interface ConnectionStringOptions {
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  region?: string;
  profile?: string;
  tokenDurationSecs?: number;
  hostaddr?: string;
  sslmode?: string;
  applicationName?: string;
  options?: string;
}

const SCHEMES = new Set(['postgres:', 'postgresql:', 'dsql:']);
/** Query parameter → option name. */
const PARAMS: Record<string, keyof ConnectionStringOptions> = {
  region: 'region',
  profile: 'profile',
  tokenDurationSecs: 'tokenDurationSecs',
  hostaddr: 'hostaddr',
  sslmode: 'sslmode',
  application_name: 'applicationName',
  options: 'options',
  host: 'host',
  port: 'port',
  user: 'user',
  dbname: 'database',
};
const ACCEPTED_URL =
  'a URL "postgres://[user@]host[:port][/database][?param=value&...]" (schemes postgres, postgresql, dsql) ' +
  `with parameters ${Object.keys(PARAMS).join(', ')}, and no password`;

function decode(part: string, field: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new DsqlConfigError(field, 'malformed percent-encoding', 'valid percent-encoded text');
  }
}

function toInt(value: string, field: string): number {
  if (!/^\d+$/.test(value)) throw new DsqlConfigError(field, describeValue(value), 'a whole number');
  return Number(value);
}

/**
 * Parses a `postgres://`, `postgresql://` or `dsql://` URL into connection options. A
 * password (in the user-info or as a `password` parameter) is rejected — DSQL authenticates
 * with IAM tokens, and a password or pasted token in a URL is a secret at rest; the error
 * never echoes it. Unknown parameters are rejected so typos surface.
 *
 * @example
 * parseConnectionString('postgres://admin@abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws/postgres?tokenDurationSecs=3600')
 * // → { user: 'admin', host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', database: 'postgres', tokenDurationSecs: 3600 }
 */
export function parseConnectionString(text: string): ConnectionStringOptions {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new DsqlConfigError('connectionString', describeValue(text), ACCEPTED_URL);
  }
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new DsqlConfigError('connectionString', describeValue(text), ACCEPTED_URL);
  }
  if (!SCHEMES.has(url.protocol)) {
    throw new DsqlConfigError('connectionString', `scheme ${describeValue(url.protocol.slice(0, -1))}`, ACCEPTED_URL);
  }
  if (url.password !== '' || url.searchParams.has('password')) {
    throw new DsqlConfigError(
      'connectionString',
      'a URL containing a password ([redacted])',
      // No "password:" in this text: redact() (which every DsqlError message goes through) would take the next word for one.
      'a URL without a password (Aurora DSQL authenticates with IAM tokens generated from your AWS credentials; choose them with the credentials or profile option)',
    );
  }
  if (url.hash !== '') throw new DsqlConfigError('connectionString', 'a URL with a #fragment', ACCEPTED_URL);

  const out: ConnectionStringOptions = {};
  if (url.hostname !== '') {
    const host = decode(url.hostname, 'connectionString host');
    if (host.includes(',')) {
      throw new DsqlConfigError('connectionString host', describeValue(host), 'a single host (multi-host URLs are not supported)');
    }
    out.host = host;
  }
  if (url.port !== '') out.port = toInt(url.port, 'connectionString port');
  if (url.username !== '') out.user = decode(url.username, 'connectionString user');
  const path = url.pathname.replace(/^\//, '');
  if (path !== '') {
    if (path.includes('/')) throw new DsqlConfigError('connectionString database', describeValue(path), 'a single database name');
    out.database = decode(path, 'connectionString database');
  }

  for (const [key, value] of url.searchParams) {
    // Own keys only: `valueOf`, `constructor` and friends are not parameters (found by fuzzing).
    const name = Object.hasOwn(PARAMS, key) ? PARAMS[key] : undefined;
    if (name === undefined) {
      // The value is not shown: an unknown parameter may be a misspelt `password`.
      throw new DsqlConfigError(`connectionString parameter "${redact(key)}"`, `a value of ${value.length} characters (not shown)`, `one of ${Object.keys(PARAMS).join(', ')}`);
    }
    const field = `connectionString ${key}`;
    if (name === 'port' || name === 'tokenDurationSecs') out[name] = toInt(value, field);
    else out[name] = value;
  }
  return out;
}
