import type { Sha256 } from '@smithy/core/checksum';
import type { buildQueryString } from '@smithy/core/protocols';
import type { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentials } from './credentials-types.js';

/**
 * What signing a DSQL token needs, loaded on first use: the SDK's own SigV4 signer
 * (`@smithy/signature-v4`), its SHA-256 and its query-string encoding.
 *
 * Why not `@aws-sdk/dsql-signer`: it does the same few steps with the same signer, but its module
 * loads the SDK's whole default credential chain (`@aws-sdk/credential-provider-node`) at import,
 * even when it is given a fixed identity — the largest part of a cold start with environment
 * credentials, as in Lambda. The token is byte for byte the one `DsqlSigner` makes (tested).
 */
interface Signing {
  readonly SignatureV4: typeof SignatureV4;
  readonly Sha256: typeof Sha256;
  readonly buildQueryString: typeof buildQueryString;
}

let signing: Promise<Signing> | undefined;

function loadSigning(): Promise<Signing> {
  signing ??= Promise.all([import('@smithy/signature-v4'), import('@smithy/core/checksum'), import('@smithy/core/protocols')]).then(
    ([v4, checksum, protocols]) => ({ SignatureV4: v4.SignatureV4, Sha256: checksum.Sha256, buildQueryString: protocols.buildQueryString }),
    (err: unknown) => {
      signing = undefined;
      throw err;
    },
  );
  return signing;
}

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
 * A DSQL IAM token: a SigV4-presigned `GET https://<hostname>/?Action=<action>` (service `dsql`,
 * signed header `host`) without its `https://` prefix, as `@aws-sdk/dsql-signer` makes it.
 *
 * @example
 * const token = await signDsqlToken({ hostname, region, action: 'DbConnectAdmin', expiresInSecs: 900, credentials, signingDate: new Date() });
 */
export async function signDsqlToken(request: TokenRequest): Promise<string> {
  const loaded = await loadSigning();
  const signer = new loaded.SignatureV4({ service: 'dsql', region: request.region, credentials: request.credentials, sha256: loaded.Sha256 });
  const presigned = await signer.presign(
    { method: 'GET', protocol: 'https:', hostname: request.hostname, path: '/', query: { Action: request.action }, headers: { host: request.hostname } },
    { expiresIn: request.expiresInSecs, signingDate: request.signingDate },
  );
  return `${request.hostname}/?${loaded.buildQueryString(presigned.query ?? {})}`;
}
