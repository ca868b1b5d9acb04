import { VERSION } from '../version.js';

/**
 * PostgreSQL truncates `application_name` to 63 bytes (NAMEDATALEN − 1).
 *
 * @example
 * Buffer.byteLength(applicationName('drizzle')) <= MAX_APPLICATION_NAME_BYTES // true
 */
export const MAX_APPLICATION_NAME_BYTES = 63;

/** Cuts `text` to at most `max` UTF-8 bytes without splitting a character. @internal */
export function truncateUtf8(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

/**
 * The default `application_name`: identifies this library and its version, optionally after
 * a prefix naming the ORM or adapter (`drizzle`, `kysely`, …). At most 63 bytes.
 *
 * @example
 * applicationName()          // → 'dsql-node/0.1.0'
 * applicationName('kysely')  // → 'kysely+dsql-node/0.1.0'
 */
export function applicationName(prefix?: string): string {
  const base = `dsql-node/${VERSION}`;
  const clean = prefix?.replace(/[^\x20-\x7e]/g, '').trim();
  return truncateUtf8(clean ? `${clean}+${base}` : base, MAX_APPLICATION_NAME_BYTES);
}
