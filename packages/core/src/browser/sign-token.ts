/**
 * Browser counterpart of auth/sign-token.ts (swapped in by browser-build.ts): the same token
 * (auth/presign.ts), with the SDK's pure-JavaScript SHA-256 (`@aws-crypto/sha256-js`, what the SDK's
 * browser clients fall back to) instead of `node:crypto`, and the signer imported directly — a
 * page's bundle holds it anyway, there is no cold start of Node modules to save.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { buildQueryString } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { presignDsqlToken, type TokenRequest } from '../auth/presign.js';

export type { TokenRequest } from '../auth/presign.js';

/**
 * A DSQL IAM token signed in the page.
 *
 * @example
 * const token = await signDsqlToken({ hostname, region, action: 'DbConnect', expiresInSecs: 900, credentials, signingDate: new Date() });
 */
export function signDsqlToken(request: TokenRequest): Promise<string> {
  return presignDsqlToken(request, { SignatureV4, buildQueryString, sha256: Sha256 });
}
