// The `endpoints` option (a multi-Region cluster's Regional endpoints, in order of preference)
// resolved into one full config per endpoint: each is what `resolveConfig` would give for that
// endpoint alone, so each gets its own token provider (signed for its own host and Region), its
// own connection rate limiter (each peer has its own quota) and its own TLS identity.
import { resolveConfig, type DsqlConfig, type DsqlConnectionOptions } from '../config/config.js';
import { parseConnectionString } from '../config/connection-string.js';
import { parseEndpoint } from '../config/endpoint.js';
import { DsqlConfigError } from '../errors/errors.js';
import { describeValue } from '../errors/redact.js';
import type { DsqlEndpointOption, EndpointSelection, ResolvedEndpointProbe } from '../config/options.js';

type Env = Record<string, string | undefined>;

/** The keys an `endpoints` entry may have (a local endpoint's `connectionOptions()` has them all). */
const ENTRY_KEYS = ['host', 'region', 'port', 'hostaddr', 'ssl', 'sslmode', 'clusterId', 'user', 'database', 'credentials'] as const;
type EntryKey = (typeof ENTRY_KEYS)[number];

const ACCEPTED_LIST =
  'a non-empty array of endpoints, most preferred first: host strings ("<cluster-id>.dsql.<region>.on.aws") ' +
  'or objects { host, region?, port?, hostaddr?, ssl? } (a local endpoint\'s connectionOptions() is accepted as an entry)';

/** Default backoff of the probe that restores an unhealthy endpoint. */
export const DEFAULT_ENDPOINT_PROBE: Readonly<ResolvedEndpointProbe> = Object.freeze({ baseDelayMs: 1000, maxDelayMs: 30_000, timeoutMs: 10_000, intervalMs: 30_000, suspectAfterMs: 5000 });

/** What {@link resolveEndpoints} returns for options that list endpoints. */
export interface ResolvedEndpoints {
  /** One resolved config per endpoint, in the order given (index 0 = preferred). */
  readonly configs: readonly DsqlConfig[];
  readonly selection: EndpointSelection;
  readonly probe: Readonly<ResolvedEndpointProbe>;
}

function explicitOptions(input: unknown, overrides: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const source of [input, overrides]) {
    if (typeof source !== 'object' || source === null) continue;
    for (const [k, v] of Object.entries(source)) if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Re-labels a config error of one entry with the entry's index (`endpoints[1].port`). */
function labelled(err: unknown, index: number): unknown {
  if (!(err instanceof DsqlConfigError)) return err;
  const m = /^Invalid [^:]*: got ([\s\S]*); expected ([\s\S]*)\.$/.exec(err.message);
  if (m === null) return err;
  return new DsqlConfigError(`endpoints[${index}].${err.field}`, m[1]!, m[2]!, { cause: err });
}

function checkSelection(value: unknown): EndpointSelection {
  if (value === undefined || value === 'ordered' || value === 'latency') return (value as EndpointSelection | undefined) ?? 'ordered';
  throw new DsqlConfigError('endpointSelection', describeValue(value), '"ordered" (the first healthy endpoint listed) or "latency" (the healthy endpoint with the lowest measured connect time)');
}

function checkProbe(value: unknown): Readonly<ResolvedEndpointProbe> {
  if (value === undefined) return DEFAULT_ENDPOINT_PROBE;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DsqlConfigError('endpointProbe', describeValue(value), 'an object { baseDelayMs?, maxDelayMs?, timeoutMs?, intervalMs?, suspectAfterMs?, drainAfterFailbackMs? }');
  }
  const out: Record<string, number> = { ...DEFAULT_ENDPOINT_PROBE } as Record<string, number>;
  for (const [key, v] of Object.entries(value)) {
    if (!(key in DEFAULT_ENDPOINT_PROBE) && key !== 'drainAfterFailbackMs') {
      throw new DsqlConfigError(`endpointProbe.${key}`, 'an unknown key', 'baseDelayMs, maxDelayMs, timeoutMs, intervalMs, suspectAfterMs or drainAfterFailbackMs');
    }
    if (v === undefined) continue;
    if (key === 'suspectAfterMs') {
      // 0 or false: statements are not followed, only the periodic check finds a silent endpoint.
      if (v !== false && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
        throw new DsqlConfigError('endpointProbe.suspectAfterMs', describeValue(v), 'a number of milliseconds >= 0, or false (0 and false turn suspicion off)');
      }
      out[key] = v === false ? 0 : v;
      continue;
    }
    if (key === 'drainAfterFailbackMs') {
      // 0 is allowed: close them as soon as the preferred endpoint is chosen again.
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new DsqlConfigError('endpointProbe.drainAfterFailbackMs', describeValue(v), 'a number of milliseconds >= 0');
      out[key] = v;
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new DsqlConfigError(`endpointProbe.${key}`, describeValue(v), 'a number of milliseconds > 0');
    out[key] = v;
  }
  if (out.maxDelayMs! < out.baseDelayMs!) {
    throw new DsqlConfigError('endpointProbe.maxDelayMs', describeValue(out.maxDelayMs), `a number of milliseconds >= baseDelayMs (${out.baseDelayMs})`);
  }
  return Object.freeze(out) as unknown as ResolvedEndpointProbe;
}

function entryOf(raw: unknown, index: number): Partial<Record<EntryKey, unknown>> {
  if (typeof raw === 'string') return { host: raw };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DsqlConfigError(`endpoints[${index}]`, describeValue(raw), 'a host string or an object { host, region?, port?, hostaddr?, ssl? }');
  }
  const entry: Partial<Record<EntryKey, unknown>> = {};
  for (const [key, v] of Object.entries(raw)) {
    if (!(ENTRY_KEYS as readonly string[]).includes(key)) {
      throw new DsqlConfigError(`endpoints[${index}]`, `an object with the key "${key}"`, `an object with the keys ${ENTRY_KEYS.join(', ')} only`);
    }
    if (v !== undefined) entry[key as EntryKey] = v;
  }
  if (entry.host === undefined) throw new DsqlConfigError(`endpoints[${index}].host`, 'nothing', 'the endpoint\'s hostname, such as "<cluster-id>.dsql.<region>.on.aws"');
  return entry;
}

/** The Region a host names itself (a cluster or PrivateLink endpoint), if it does. */
function ownRegion(host: unknown): string | undefined {
  if (typeof host !== 'string') return undefined;
  try {
    const parsed = parseEndpoint(host, { env: {} });
    return parsed.kind === 'custom' ? undefined : parsed.region;
  } catch {
    return undefined;
  }
}

/**
 * Resolves the `endpoints` option, or returns `undefined` when the options do not list
 * endpoints (then one `host` works exactly as before). Every entry is resolved as if it were the
 * only endpoint, over the options shared by all (user, database, credentials, retry, limits…):
 * its own `host`, `region` (default: the Region its hostname names, else the shared `region`),
 * `port` (default: the shared one), `hostaddr` and `ssl` / `sslmode` (default: the shared ones).
 * `host`/`hostaddr` at the top level (or in a connection string, or `PGHOST`/`PGHOSTADDR`) do not
 * combine with `endpoints`: an explicit one is refused, the environment's is ignored. All entries
 * must use the same user and database (a driver opens every connection with one startup message),
 * and no endpoint may be listed twice. Errors name the entry (`endpoints[1].port`).
 *
 * @example
 * resolveEndpoints({ endpoints: ['aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-1.on.aws', 'bbbbbbbbbbbbbbbbbbbbbbbbbb.dsql.us-east-2.on.aws'] })!.configs[1].region // 'us-east-2'
 */
export function resolveEndpoints(input?: string | DsqlConnectionOptions, overrides?: DsqlConnectionOptions, env: Env = process.env): ResolvedEndpoints | undefined {
  const explicit = explicitOptions(typeof input === 'string' ? undefined : input, overrides);
  const raw = explicit.endpoints;
  if (raw === undefined) {
    for (const key of ['endpointSelection', 'endpointProbe'] as const) {
      if (explicit[key] !== undefined) throw new DsqlConfigError(key, describeValue(explicit[key]), 'no value without the endpoints option (it chooses between endpoints)');
    }
    return undefined;
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new DsqlConfigError('endpoints', Array.isArray(raw) ? 'an empty array' : describeValue(raw), ACCEPTED_LIST);
  for (const key of ['host', 'hostaddr'] as const) {
    if (explicit[key] !== undefined) {
      throw new DsqlConfigError(key, describeValue(explicit[key]), `no ${key} beside endpoints: give either host (one endpoint) or endpoints (a list, each with its own host and hostaddr)`);
    }
  }
  if (explicit.webSocketUrl !== undefined) {
    throw new DsqlConfigError('webSocketUrl', describeValue(explicit.webSocketUrl), 'no webSocketUrl beside endpoints: each endpoint is reached at wss://<its host>:443');
  }
  const urlText = typeof input === 'string' ? input : explicit.connectionString;
  // A connection string may carry the shared options (user, database, region…); its host is replaced by each endpoint's.
  if (typeof urlText === 'string' && parseConnectionString(urlText).hostaddr !== undefined) {
    throw new DsqlConfigError('connectionString hostaddr', describeValue(parseConnectionString(urlText).hostaddr), 'no hostaddr beside endpoints: give each endpoint its own hostaddr');
  }
  const selection = checkSelection(explicit.endpointSelection);
  const probe = checkProbe(explicit.endpointProbe);
  // The environment's host and address name one endpoint: not these.
  const sharedEnv: Env = { ...env, PGHOST: undefined, PGHOSTADDR: undefined };
  const shared: Record<string, unknown> = { ...explicit };
  for (const key of ['endpoints', 'endpointSelection', 'endpointProbe', 'connectionString'] as const) delete shared[key];

  const configs: DsqlConfig[] = [];
  const seen = new Map<string, number>();
  (raw as readonly unknown[]).forEach((item, index) => {
    const entry = entryOf(item, index);
    const options: Record<string, unknown> = { ...shared, ...entry };
    // A hostname that names its Region keeps it; the shared region is for hosts that do not.
    const named = ownRegion(entry.host);
    if (entry.region === undefined && named !== undefined) options.region = named;
    // The endpoint's own ssl decides its TLS mode; a shared sslmode applies only when the entry sets none.
    if (entry.ssl !== undefined && entry.sslmode === undefined) delete options.sslmode;
    let config: DsqlConfig;
    try {
      config = urlText === undefined ? resolveConfig(options as DsqlConnectionOptions, undefined, sharedEnv) : resolveConfig(urlText as string, options as DsqlConnectionOptions, sharedEnv);
    } catch (err) {
      throw labelled(err, index);
    }
    const key = `${config.host}:${config.port}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new DsqlConfigError(`endpoints[${index}]`, describeValue(key), `an endpoint not listed already (it is endpoints[${earlier}])`);
    seen.set(key, index);
    const first = configs[0];
    if (first !== undefined && (config.user !== first.user || config.database !== first.database)) {
      throw new DsqlConfigError(
        `endpoints[${index}]`,
        `user "${config.user}" and database "${config.database}"`,
        `the same user and database as endpoints[0] ("${first.user}", "${first.database}"): a connection's role and database do not change with the endpoint`,
      );
    }
    configs.push(config);
  });
  return Object.freeze({ configs: Object.freeze(configs), selection, probe });
}

export type { DsqlEndpointOption };
