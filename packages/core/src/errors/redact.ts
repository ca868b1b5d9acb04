/**
 * Removal of secrets from free text (error messages, log lines, inspected objects).
 *
 * Hand-written on purpose: no maintained library knows the shape of a DSQL token
 * (a SigV4 presigned URL without its scheme), and the patterns are few and stable.
 */

const REDACTED = '[redacted]';

/** A whitespace/quote-delimited run that contains any SigV4 presign parameter: a whole token. */
const PRESIGNED_RUN = /[^\s'"<>`]*X-Amz-(?:Signature|Credential|Security-Token|Algorithm|Date|Expires|SignedHeaders)[^\s'"<>`]*/gi;
/**
 * `scheme://user:password@host` → keeps the user, drops the password. Greedy to the last `@` of the
 * line: over-redacting a malformed URL is better than leaking part of a password with odd characters.
 */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:@\n]*:).*@/gi;
/** `user:password@host` without a scheme (a URL pasted as a host). */
const BARE_USERINFO = /([^\s:@/'"]*:)(?!\/\/)[^\s@'"]+@/g;
/**
 * `password=…`, `"secretAccessKey": "…"`, `sessionToken: …` and friends. Not the word `got ` that
 * follows the field in our own `Invalid password: got …` header (DsqlConfigError): the value after
 * it has been described with `describeValue` already, and eating the word garbled the message.
 */
const KEY_VALUE_SECRET =
  /((?:["']?)\b(?:password|passwd|pwd|pgpassword|secretAccessKey|secret_access_key|aws_secret_access_key|sessionToken|session_token|aws_session_token|token)\b["']?\s*[=:]\s*)(?!got )('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&;,}]+)/gi;
/** `Signature=<64 hex>` in an Authorization header. */
const HEADER_SIGNATURE = /\bSignature=[0-9a-f]{64}\b/gi;
/** AWS access key ids (long-term `AKIA…` and temporary `ASIA…`). */
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;

/**
 * Returns `text` with everything token-shaped replaced by `[redacted]`: whole presigned DSQL
 * tokens (anything carrying `X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`…),
 * passwords in URLs and connection strings, `password=`/`secretAccessKey:`-style pairs and AWS
 * access key ids. Safe to call on any string; non-strings are stringified first.
 *
 * @example
 * redact('password authentication failed for abc.dsql.us-east-1.on.aws/?Action=DbConnect&X-Amz-Signature=ab12');
 * // → 'password authentication failed for [redacted]'
 */
export function redact(text: unknown): string {
  const s = typeof text === 'string' ? text : String(text);
  return s
    .replace(PRESIGNED_RUN, REDACTED)
    .replace(URL_PASSWORD, `$1${REDACTED}@`)
    .replace(BARE_USERINFO, `$1${REDACTED}@`)
    .replace(KEY_VALUE_SECRET, (_m, key: string) => `${key}${REDACTED}`)
    .replace(HEADER_SIGNATURE, `Signature=${REDACTED}`)
    .replace(ACCESS_KEY_ID, REDACTED);
}

/**
 * Describes a value for an error message without revealing it if it could be a secret:
 * strings are redacted and shortened, other values are shown by type.
 *
 * @example
 * describeValue('postgres://a:b@h') // → '"postgres://a:[redacted]@h"'
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const r = redact(value);
    return JSON.stringify(r.length > 80 ? `${r.slice(0, 77)}...` : r);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return `an object`;
}
