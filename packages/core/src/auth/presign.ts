import type * as ProtocolsModule from '@smithy/core/protocols';
import type * as SignerModule from '@smithy/signature-v4';
import type { AwsCredentials } from './credentials-types.js';

/**
 * What {@link signDsqlToken} signs.
 *
 * @example
 * const request: TokenRequest = { hostname, region: 'us-east-1', action: 'DbConnect', expiresInSecs: 900, credentials, signingDate: new Date() };
 */
export interface TokenRequest {
  readonly hostname: string;
  readonly region: string;
  readonly action: 'DbConnect' | 'DbConnectAdmin';
  readonly expiresInSecs: number;
  readonly credentials: AwsCredentials;
  readonly signingDate: Date;
}

/**
 * The SDK's signer, its query-string encoding and a SHA-256: what the Node signer
 * (sign-token.ts, `node:crypto`) and the browser one (browser/sign-token.ts, `@aws-crypto/sha256-js`)
 * each bring to {@link presignDsqlToken}.
 */
export interface TokenSigning {
  readonly SignatureV4: typeof SignerModule.SignatureV4;
  readonly buildQueryString: typeof ProtocolsModule.buildQueryString;
  /** A SHA-256 constructor (the SDK's `ChecksumConstructor`). */
  readonly sha256: ConstructorParameters<typeof SignerModule.SignatureV4>[0]['sha256'];
}

/**
 * A DSQL IAM token: a SigV4-presigned `GET https://<hostname>/?Action=<action>` (service `dsql`,
 * signed header `host`) without its `https://` prefix, as `@aws-sdk/dsql-signer` makes it.
 * The one place the token's shape is written; the platforms differ only in `signing`.
 *
 * @example
 * const token = await presignDsqlToken(request, { SignatureV4, buildQueryString, sha256: Sha256 });
 */
export async function presignDsqlToken(request: TokenRequest, signing: TokenSigning): Promise<string> {
  const signer = new signing.SignatureV4({ service: 'dsql', region: request.region, credentials: request.credentials, sha256: signing.sha256 });
  const presigned = await signer.presign(
    { method: 'GET', protocol: 'https:', hostname: request.hostname, path: '/', query: { Action: request.action }, headers: { host: request.hostname } },
    { expiresIn: request.expiresInSecs, signingDate: request.signingDate },
  );
  return `${request.hostname}/?${signing.buildQueryString(presigned.query ?? {})}`;
}
