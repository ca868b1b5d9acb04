import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { ipVersion } from '../config/ip-address.js';

/**
 * libpq-style TLS modes supported for DSQL. `disable` only for custom hosts, when asked for.
 *
 * @example
 * resolveConfig({ host: 'localhost', region: 'us-east-1', sslmode: 'verify-ca' satisfies SslMode });
 */
export type SslMode = 'verify-full' | 'verify-ca' | 'require' | 'disable';

/**
 * Extra TLS options a user may pass as `ssl` (Node `tls.ConnectionOptions`: `ca`, `cert`, `key`, …).
 *
 * @example
 * resolveConfig({ host, ssl: { ca: readFileSync('ca.pem', 'utf8') } satisfies UserTlsOptions });
 */
export type UserTlsOptions = Readonly<ConnectionOptions>;

/**
 * The parts of a resolved config that decide TLS.
 *
 * @example
 * tlsOptions({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', sslmode: 'verify-full' } satisfies TlsConfig);
 */
export interface TlsConfig {
  /** The hostname the certificate must name and SNI carries (the cluster host, also when `hostaddr` is dialled). */
  readonly host: string;
  readonly sslmode: SslMode;
  readonly ssl?: UserTlsOptions | undefined;
}

/**
 * Node TLS options for a DSQL connection: usable as node-postgres's `ssl` and Postgres.js's
 * `ssl`. `verify-full` (default) checks the chain and that the certificate names `host`, and
 * sends `host` as SNI (DSQL refuses connections without SNI) — also when `hostaddr` is
 * dialled; `verify-ca` checks the chain only; `require` encrypts without checking (only when
 * asked for explicitly); `disable` returns `false`. A user `ssl` object (e.g. `{ ca }`) is
 * merged in; its own `servername` or `checkServerIdentity` win.
 *
 * @example
 * new pg.Client({ host: config.dialHost, ssl: tlsOptions(config), ... })
 */
export function tlsOptions(config: TlsConfig): ConnectionOptions | false {
  if (config.sslmode === 'disable') return false;
  const host = config.host;
  const base: ConnectionOptions = {};
  // SNI must be a hostname (RFC 6066); an IP host gets no servername.
  if (ipVersion(host) === 0) base.servername = host;
  switch (config.sslmode) {
    case 'verify-full':
      base.rejectUnauthorized = true;
      // Check against the cluster host, not whatever address the driver dialled (hostaddr).
      base.checkServerIdentity = (_dialled: string, cert: PeerCertificate) => checkServerIdentity(host, cert);
      break;
    case 'verify-ca':
      base.rejectUnauthorized = true;
      base.checkServerIdentity = () => undefined;
      break;
    case 'require':
      base.rejectUnauthorized = false;
      break;
  }
  return { ...base, ...(config.ssl ?? {}) };
}
