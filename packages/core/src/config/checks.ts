import type { CredentialsInput } from '../auth/credentials-types.js';
import type { SslMode, UserTlsOptions } from '../connect/tls.js';
import { DsqlConfigError } from '../errors/errors.js';
import { describeValue } from '../errors/redact.js';
import { normalizeHost } from './endpoint.js';
import { ipVersion } from './ip-address.js';
import { MAX_TOKEN_DURATION_SECS } from './options.js';

// Validators of single options: each returns the accepted value or throws a DsqlConfigError
// naming the field, the (redacted) value given and what is accepted.

export const SSL_MODES: readonly SslMode[] = ['verify-full', 'verify-ca', 'require', 'disable'];

/** @internal */
export function checkName(field: string, value: unknown, what: string): string {
  if (typeof value === 'string' && value.length > 0 && Buffer.byteLength(value) <= 63 && !/[\0]/.test(value)) return value;
  throw new DsqlConfigError(field, describeValue(value), `${what}: a non-empty string of at most 63 bytes`);
}

/** @internal */
export function checkPort(value: unknown, field: string): number {
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

/** @internal */
export function sslFromOption(ssl: unknown): { mode?: SslMode; tls?: UserTlsOptions } {
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

/** @internal */
export function checkSslMode(value: unknown, field: string): SslMode {
  if (typeof value === 'string' && (SSL_MODES as readonly string[]).includes(value)) return value as SslMode;
  const extra = value === 'prefer' || value === 'allow' ? ' (DSQL always requires TLS, so "prefer"/"allow" are not offered)' : '';
  throw new DsqlConfigError(field, describeValue(value) + extra, `one of ${SSL_MODES.join(', ')}`);
}

/** `hostaddr` is an address to dial, as in libpq: a numeric IPv4 or IPv6 address, never a name. */
/** @internal */
export function checkHostaddr(value: unknown, field: string): string {
  const h = normalizeHost(value, field);
  if (ipVersion(h) === 0) {
    throw new DsqlConfigError(
      field,
      describeValue(value),
      'a numeric IPv4 or IPv6 address to dial (such as "10.0.0.7"); a host name belongs in host',
    );
  }
  return h;
}
