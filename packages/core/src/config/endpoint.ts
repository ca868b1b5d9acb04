import { DsqlConfigError } from '../errors/errors.js';
import { describeValue } from '../errors/redact.js';
import { ipVersion } from './ip-address.js';
import { checkRegion, regionFromEnv } from './region.js';

/**
 * How a host relates to Aurora DSQL.
 *
 * @example
 * if (parseEndpoint(host, { region }).kind === 'custom') console.warn('not a DSQL hostname');
 */
export type EndpointKind = 'public' | 'privatelink' | 'custom';

/**
 * Result of {@link parseEndpoint}.
 *
 * @example
 * const { host, region, clusterId }: DsqlEndpoint = parseEndpoint('abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws');
 */
export interface DsqlEndpoint {
  /** Lower-cased hostname without a trailing dot (or an IP address). */
  readonly host: string;
  /** The 26-character cluster id, when the host names one. */
  readonly clusterId?: string;
  readonly region: string;
  readonly kind: EndpointKind;
}

/**
 * Options of {@link parseEndpoint}.
 *
 * @example
 * parseEndpoint('localhost', { region: 'us-east-1' } satisfies ParseEndpointOptions);
 */
export interface ParseEndpointOptions {
  /** Region to use; must match the hostname's Region when the hostname has one. */
  region?: string | undefined;
  /** Environment consulted for `AWS_REGION` / `AWS_DEFAULT_REGION`; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
}

const CLUSTER_ID = /^[a-z0-9]{26}$/;
const PUBLIC = /^([a-z0-9]{26})\.dsql\.([a-z0-9-]+)\.on\.aws$/;
const PRIVATELINK = /^([a-z0-9]{26})\.dsql-([a-z0-9]+)\.([a-z0-9-]+)\.on\.aws$/;
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

const ACCEPTED =
  'a cluster endpoint "<cluster-id>.dsql.<region>.on.aws", a PrivateLink endpoint "<cluster-id>.dsql-<suffix>.<region>.on.aws", ' +
  'a bare 26-character cluster id (with a region), or any hostname or IP address without scheme, port or path (with a region)';

/**
 * Parses a DSQL host: a public cluster endpoint, a PrivateLink endpoint, a bare 26-character
 * cluster id (expanded to `<id>.dsql.<region>.on.aws`), or any other hostname or IP address
 * (`localhost`, a tunnel, a CNAME) — the last two need a Region. Upper case and a trailing dot
 * are accepted. The Region comes from `options.region`, else the hostname, else
 * `AWS_REGION`/`AWS_DEFAULT_REGION`, else a {@link DsqlConfigError} says how to give it.
 *
 * @example
 * parseEndpoint('abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws')
 * // → { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', clusterId: 'abcdefghijklmnopqrstuvwxyz', region: 'us-east-1', kind: 'public' }
 * parseEndpoint('localhost', { region: 'us-east-1' }) // → { host: 'localhost', region: 'us-east-1', kind: 'custom' }
 */
export function parseEndpoint(host: string, options: ParseEndpointOptions = {}): DsqlEndpoint {
  const env = options.env ?? process.env;
  const name = normalizeHost(host, 'host');
  const explicit = options.region === undefined || options.region === '' ? undefined : checkRegion(options.region);

  const pub = PUBLIC.exec(name);
  const pl = pub ? null : PRIVATELINK.exec(name);
  if (pub || pl) {
    const clusterId = (pub ?? pl)![1]!;
    const hostRegion = checkRegion(pub ? pub[2] : pl![3], 'host');
    if (explicit !== undefined && explicit !== hostRegion) {
      throw new DsqlConfigError(
        'region',
        describeValue(explicit),
        `the endpoint's own Region "${hostRegion}" (a token signed for another Region is refused), or no region at all`,
      );
    }
    return Object.freeze({ host: name, clusterId, region: hostRegion, kind: pub ? 'public' : 'privatelink' });
  }

  const region = explicit ?? regionFromEnv(env);
  if (CLUSTER_ID.test(name)) {
    if (region === undefined) throw missingRegion(name);
    return Object.freeze({ host: `${name}.dsql.${region}.on.aws`, clusterId: name, region, kind: 'public' });
  }
  if (region === undefined) throw missingRegion(name);
  return Object.freeze({ host: name, region, kind: 'custom' });
}

function missingRegion(host: string): DsqlConfigError {
  return new DsqlConfigError(
    'region',
    `no region for host ${describeValue(host)}`,
    'the region option, a "region" query parameter, a cluster endpoint that names its Region, or AWS_REGION / AWS_DEFAULT_REGION in the environment',
  );
}

/**
 * Validates a hostname or IP address and returns it lower-cased without a trailing dot.
 * `field` names the option in errors (`host`, `hostaddr`).
 * @internal
 */
export function normalizeHost(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new DsqlConfigError(field, describeValue(value), ACCEPTED);
  }
  let h = value.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1); // bracketed IPv6 literal
  if (ipVersion(h) !== 0) return h;
  if (h.endsWith('.')) h = h.slice(0, -1);
  const labels = h.split('.');
  if (h.length === 0 || h.length > 253 || !labels.every((l) => LABEL.test(l))) {
    const why = /:\/\//.test(value)
      ? ' (a URL: pass it as connectionString instead)'
      : value.includes(':')
        ? ' (a port belongs in the port option)'
        : /\s/.test(value)
          ? ' (contains spaces)'
          : '';
    throw new DsqlConfigError(field, describeValue(value) + why, ACCEPTED);
  }
  return h;
}
