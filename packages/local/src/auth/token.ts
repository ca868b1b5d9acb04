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

function fail(reason: AuthFailureReason, hint: string): TokenVerdict {
  return { ok: false, reason, hint };
}

/** `20261124T130827Z` → epoch ms, or NaN. */
function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return Number.NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * Verifies `token` against `expect`. Never throws and never echoes the token.
 *
 * @example
 * const verdict = await verifyDsqlToken(password, { host, region, user: 'admin', credentials: [creds] });
 * if (!verdict.ok) console.warn(verdict.reason);
 */
export async function verifyDsqlToken(token: string, expect: TokenExpectation): Promise<TokenVerdict> {
  const now = expect.now ?? Date.now();
  let url: URL;
  try {
    url = new URL(`https://${token}`);
  } catch {
    return fail('malformed', 'The password is not a DSQL authentication token.');
  }
  const q = url.searchParams;
  const action = q.get('Action');
  const credential = q.get('X-Amz-Credential');
  const date = q.get('X-Amz-Date');
  const expiresText = q.get('X-Amz-Expires');
  const signature = q.get('X-Amz-Signature');
  const signedHeaders = q.get('X-Amz-SignedHeaders');
  if (
    !action ||
    !credential ||
    !date ||
    !expiresText ||
    !signature ||
    q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' ||
    signedHeaders !== 'host' ||
    url.pathname !== '/'
  ) {
    return fail('malformed', 'The password is not a DSQL authentication token.');
  }
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator, ...extra] = credential.split('/');
  if (!accessKeyId || !scopeDate || !scopeRegion || !scopeService || terminator !== 'aws4_request' || extra.length) {
    return fail('malformed', 'Invalid credential scope in the authentication token.');
  }
  const signedAt = parseAmzDate(date);
  const expires = Number(expiresText);
  if (Number.isNaN(signedAt) || !Number.isInteger(expires) || expires <= 0) {
    return fail('malformed', 'Invalid X-Amz-Date or X-Amz-Expires in the authentication token.');
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
  const tokenHost = url.hostname.toLowerCase();
  if (tokenHost !== expect.host.toLowerCase()) {
    return fail('wrong-host', `The token was signed for a different host; expected ${expect.host}.`);
  }
  if (expires > MAX_EXPIRES) {
    // Checked before re-signing: SigV4 itself refuses to presign beyond a week.
    return fail('expiry-too-long', `X-Amz-Expires must be less than a week (in seconds) that is 604800`);
  }
  const sessionToken = q.get('X-Amz-Security-Token') ?? undefined;
  if (identity.sessionToken !== undefined && identity.sessionToken !== sessionToken) {
    return fail('unknown-access-key', 'The security token included in the request is invalid.');
  }

  const signer = new SignatureV4({
    service: 'dsql',
    region: scopeRegion,
    sha256: Sha256,
    credentials: { accessKeyId, secretAccessKey: identity.secretAccessKey, sessionToken },
  });
  let presigned;
  try {
    presigned = await signer.presign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: url.hostname,
        path: '/',
        query: { Action: action },
        headers: { host: url.host },
      },
      { signingDate: new Date(signedAt), expiresIn: expires },
    );
  } catch {
    return fail('malformed', 'The authentication token could not be verified.');
  }
  const expected = Buffer.from(String(presigned.query?.['X-Amz-Signature'] ?? ''), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return fail(
      'signature-mismatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
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
