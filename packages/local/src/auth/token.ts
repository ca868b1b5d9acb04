/**
 * Verifies an Aurora DSQL IAM authentication token the way DSQL does: by re-signing.
 *
 * A token is a SigV4 presigned `GET https://<host>/?Action=DbConnect[Admin]` with the scheme
 * removed. We parse its query, look the access key up in the accepted identity set, presign the
 * same request with `@smithy/signature-v4` at the token's own `X-Amz-Date` / `X-Amz-Expires`, and
 * compare signatures in constant time. Then: service `dsql`, scope date, region, host = the
 * endpoint the client reached (SNI), Action matching the user, not expired, expiry ≤ one week.
 */
import { timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * An AWS identity the emulator accepts tokens from.
 *
 * @example
 * await startDsqlLocal({ credentials: { accessKeyId: 'AKIALOCAL0000000001', secretAccessKey: 'local-secret' } });
 */
export interface DsqlLocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** When set, tokens must carry exactly this `X-Amz-Security-Token`. */
  sessionToken?: string;
}

/**
 * Why a token was refused; also the key of `stats().authFailures`.
 *
 * @example
 * const reason: AuthFailureReason = 'expired';
 */
export type AuthFailureReason =
  | 'malformed'
  | 'unknown-access-key'
  | 'wrong-service'
  | 'wrong-region'
  | 'wrong-host'
  | 'wrong-action'
  | 'signature-mismatch'
  | 'expired'
  | 'not-yet-valid'
  | 'expiry-too-long';

/**
 * The outcome of a verification: ok, or the reason and the HINT DSQL would send.
 *
 * @example
 * const v: TokenVerdict = await verifyDsqlToken(token, expectation);
 * if (!v.ok) console.warn(v.reason, v.hint);
 */
export type TokenVerdict = { ok: true } | { ok: false; reason: AuthFailureReason; hint: string };

/**
 * What the token must match.
 *
 * @example
 * const expectation: TokenExpectation = { host: dsql.host, region: dsql.region, user: 'admin', credentials: [dsql.credentials] };
 */
export interface TokenExpectation {
  /** The endpoint the client reached (SNI). */
  host: string;
  region: string;
  user: string;
  /** Accepted identities. */
  credentials: readonly DsqlLocalCredentials[];
  /** Clock (ms since epoch), injectable for tests. */
  now?: number;
}

const MAX_EXPIRES = 604_800;
const CLOCK_SKEW_MS = 5 * 60_000;
/**
 * Longest token accepted, in characters. An SDK token is about 400 characters, plus its
 * session token (commonly under 2,000 encoded); anything near this is padding.
 */
export const MAX_TOKEN_LENGTH = 16_384;

/** The query parameters a DSQL token carries (SDK signers emit exactly these, in any order). */
const KNOWN_PARAMS = new Set([
  'Action',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
  'X-Amz-SignedHeaders',
]);
const REQUIRED_PARAMS = ['Action', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-Signature', 'X-Amz-SignedHeaders'];
const NOT_A_TOKEN = 'The password is not a DSQL authentication token.';
const TOKEN_SHAPE =
  'A DSQL authentication token is "<endpoint>/?Action=…&X-Amz-…" exactly as the AWS SDK signers produce it: no scheme, user info, port, other path or fragment.';

function fail(reason: AuthFailureReason, hint: string): TokenVerdict {
  return { ok: false, reason, hint };
}

/** `20261124T130827Z` → epoch ms, or NaN (also for a date that does not exist, such as month 13). */
function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return Number.NaN;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return amzDate(ms) === s ? ms : Number.NaN;
}

function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** SigV4's URI encoding (RFC 3986 unreserved characters kept, upper-case hex), as every SDK signer applies it. */
function sigv4Encode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A parameter name safe to show in a hint (it may be anything the client sent). */
function shownName(name: string): string {
  return /^[\w-]{1,40}$/.test(name) ? `"${name}"` : 'an unnamed or oddly named parameter';
}

/**
 * Parses a token strictly: `<host>/?<query>`, every parameter known, once, canonically encoded.
 * Returns the host as written and the decoded parameters, or the refusal.
 */
function parseToken(token: string): { host: string; params: Map<string, string> } | TokenVerdict {
  if (token.length > MAX_TOKEN_LENGTH) {
    return fail('malformed', `The authentication token is longer than ${MAX_TOKEN_LENGTH} characters; an SDK token is far shorter.`);
  }
  const slash = token.indexOf('/');
  const authority = slash < 0 ? token : token.slice(0, slash);
  if (slash < 0 || !token.startsWith('/?', slash)) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(token)) return fail('malformed', `${TOKEN_SHAPE} Remove the scheme.`);
    if (slash >= 0 && !token.includes('X-Amz-')) return fail('malformed', NOT_A_TOKEN);
    return fail('malformed', slash < 0 ? NOT_A_TOKEN : `${TOKEN_SHAPE} The path must be "/".`);
  }
  if (authority.includes('@')) return fail('malformed', `${TOKEN_SHAPE} Remove the user info.`);
  if (authority.includes(':')) return fail('malformed', `${TOKEN_SHAPE} Remove the port.`);
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(authority)) return fail('malformed', NOT_A_TOKEN);
  const query = token.slice(slash + 2);
  if (query.includes('#')) return fail('malformed', `${TOKEN_SHAPE} Remove the fragment.`);
  const params = new Map<string, string>();
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (!KNOWN_PARAMS.has(name)) {
      return fail('malformed', `The authentication token carries ${shownName(name)}, which SDK signers never add; refused rather than ignored.`);
    }
    if (params.has(name)) return fail('malformed', `The authentication token carries "${name}" more than once.`);
    const raw = eq < 0 ? '' : part.slice(eq + 1);
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      return fail('malformed', `"${name}" in the authentication token is not valid percent-encoding.`);
    }
    if (sigv4Encode(value) !== raw) {
      return fail('malformed', `"${name}" in the authentication token is not encoded as SigV4 encodes it (RFC 3986, upper-case hex).`);
    }
    params.set(name, value);
  }
  const missing = REQUIRED_PARAMS.find((n) => !params.has(n));
  if (missing) return fail('malformed', missing === 'Action' ? NOT_A_TOKEN : `The authentication token has no "${missing}".`);
  return { host: authority, params };
}

/**
 * Verifies `token` against `expect`. Never throws and never echoes the token.
 *
 * Stricter than DSQL on purpose (a verifier that tests clients must not pass what the real one
 * might refuse): the token must be exactly what an SDK signer produces — `<host>/?<query>` with
 * the host in lower case, the eight known parameters each at most once (the session token only
 * for an identity configured with one), canonical SigV4 encoding, numbers and dates in canonical
 * form, at most `MAX_TOKEN_LENGTH` characters — and every parameter must equal what
 * `@smithy/signature-v4` produces when presigning the same request at the token's own date.
 *
 * @example
 * const verdict = await verifyDsqlToken(password, { host, region, user: 'admin', credentials: [creds] });
 * if (!verdict.ok) console.warn(verdict.reason);
 */
export async function verifyDsqlToken(token: string, expect: TokenExpectation): Promise<TokenVerdict> {
  const now = expect.now ?? Date.now();
  if (typeof token !== 'string') return fail('malformed', NOT_A_TOKEN);
  const parsed = parseToken(token);
  if ('ok' in parsed) return parsed;
  const q = parsed.params;
  const action = q.get('Action')!;
  const credential = q.get('X-Amz-Credential')!;
  const date = q.get('X-Amz-Date')!;
  const expiresText = q.get('X-Amz-Expires')!;
  const signature = q.get('X-Amz-Signature')!;
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || q.get('X-Amz-SignedHeaders') !== 'host') {
    return fail('malformed', 'The authentication token must be signed with AWS4-HMAC-SHA256 over the host header only.');
  }
  if (!/^[A-Za-z]{1,32}$/.test(action)) return fail('malformed', NOT_A_TOKEN);
  if (!/^[0-9a-f]{64}$/.test(signature)) return fail('malformed', 'X-Amz-Signature must be 64 lower-case hex digits.');
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator, ...extra] = credential.split('/');
  if (!accessKeyId || !scopeDate || !scopeRegion || !scopeService || terminator !== 'aws4_request' || extra.length) {
    return fail('malformed', 'Invalid credential scope in the authentication token.');
  }
  const signedAt = parseAmzDate(date);
  if (Number.isNaN(signedAt)) return fail('malformed', 'X-Amz-Date must be a real date written as YYYYMMDDTHHMMSSZ.');
  if (!/^[1-9][0-9]*$/.test(expiresText)) {
    return fail('malformed', 'X-Amz-Expires must be a whole number of seconds, written without sign, leading zeros, fraction or exponent.');
  }
  const identity = expect.credentials.find((c) => c.accessKeyId === accessKeyId);
  if (!identity) {
    return fail('unknown-access-key', 'The security token included in the request is invalid.');
  }
  if (scopeService !== 'dsql') {
    return fail('wrong-service', `Credential should be scoped to correct service: 'dsql'.`);
  }
  if (scopeRegion !== expect.region) {
    return fail('wrong-region', `Credential should be scoped to a valid region: '${expect.region}'.`);
  }
  if (scopeDate !== date.slice(0, 8)) {
    return fail('malformed', 'Credential scope date does not match X-Amz-Date.');
  }
  const tokenHost = parsed.host;
  if (tokenHost !== tokenHost.toLowerCase()) {
    return fail(
      'wrong-host',
      `The token was signed for a host name with upper-case letters; the endpoint's host name is ${expect.host.toLowerCase()}. Sign the token for the host name in lower case.`,
    );
  }
  if (tokenHost !== expect.host.toLowerCase()) {
    return fail('wrong-host', `The token was signed for a different host; expected ${expect.host}.`);
  }
  if (expiresText.length > 7 || Number(expiresText) > MAX_EXPIRES) {
    // Checked before re-signing: SigV4 itself refuses to presign beyond a week.
    return fail('expiry-too-long', `X-Amz-Expires must be less than a week (in seconds) that is 604800`);
  }
  const expires = Number(expiresText);
  const sessionToken = q.get('X-Amz-Security-Token');
  if (identity.sessionToken === undefined && sessionToken !== undefined) {
    return fail(
      'unknown-access-key',
      'The security token included in the request is invalid: the token carries a session token, but this access key was configured without one.',
    );
  }
  if (identity.sessionToken !== undefined && identity.sessionToken !== sessionToken) {
    return fail('unknown-access-key', 'The security token included in the request is invalid.');
  }

  const signer = new SignatureV4({
    service: 'dsql',
    region: scopeRegion,
    sha256: Sha256,
    credentials: { accessKeyId, secretAccessKey: identity.secretAccessKey, sessionToken: identity.sessionToken },
  });
  let presigned;
  try {
    presigned = await signer.presign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: tokenHost,
        path: '/',
        query: { Action: action },
        headers: { host: tokenHost },
      },
      { signingDate: new Date(signedAt), expiresIn: expires },
    );
  } catch {
    return fail('malformed', 'The authentication token could not be verified.');
  }
  const expectedQuery = presigned.query ?? {};
  const expected = Buffer.from(String(expectedQuery['X-Amz-Signature'] ?? ''), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return fail(
      'signature-mismatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  // Every parameter is one the signer produced, with the value it produced: nothing unsigned rides along.
  const expectedNames = Object.keys(expectedQuery);
  if (expectedNames.length !== q.size || expectedNames.some((n) => q.get(n) !== String(expectedQuery[n]))) {
    return fail('malformed', 'The authentication token carries parameters other than those the signature covers.');
  }

  const wanted = expect.user === 'admin' ? 'DbConnectAdmin' : 'DbConnect';
  if (action !== wanted) {
    return fail('wrong-action', `Wrong user to action mapping. user: ${expect.user}, action: ${action}`);
  }
  if (signedAt - CLOCK_SKEW_MS > now) {
    return fail('not-yet-valid', `Signature not yet current: ${date} is still later than ${amzDate(now + CLOCK_SKEW_MS)}`);
  }
  if (signedAt + expires * 1000 < now) {
    return fail('expired', `Signature expired: ${amzDate(signedAt + expires * 1000)} is now earlier than ${amzDate(now)}`);
  }
  return { ok: true };
}
