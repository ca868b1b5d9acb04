import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { presignDsqlToken, type TokenRequest } from './presign.js';
import type * as SigV4Module from './sigv4.js';

/**
 * What signing a DSQL token needs, loaded on first use: the SDK's own SigV4 signer
 * (`@smithy/signature-v4`) and its query-string encoding, from `./sigv4.js` — in the published
 * build a chunk holding only the parts of them a token needs (see that module).
 *
 * Why not `@aws-sdk/dsql-signer`: it does the same few steps with the same signer, but its module
 * loads the SDK's whole default credential chain (`@aws-sdk/credential-provider-node`) at import,
 * even when it is given a fixed identity — the largest part of a cold start with environment
 * credentials, as in Lambda. The token is byte for byte the one `DsqlSigner` makes (tested).
 */
type Signing = typeof SigV4Module;

let signing: Promise<Signing> | undefined;

/** Loads the signer once; a failed load is retried by the next signing. */
function loadSigning(): Promise<Signing> {
  signing ??= import('./sigv4.js').catch((err: unknown) => {
    signing = undefined;
    throw err;
  });
  return signing;
}

/** What the signer hashes (`@smithy/types`' `SourceData`). */
type SourceData = string | ArrayBuffer | ArrayBufferView;

/**
 * SHA-256 and HMAC-SHA-256 for the signer, from `node:crypto` — what the SDK's Node hash
 * (`@smithy/hash-node`) is; written here rather than imported from `@smithy/core/checksum`, whose
 * ESM build costs a cold start 20–50 ms of module loading for these few lines.
 */
class NodeSha256 {
  readonly #secret: SourceData | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#hash = NodeSha256.#create(secret);
  }

  static #create(secret: SourceData | undefined): Hash | Hmac {
    return secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }

  update(data: SourceData): void {
    this.#hash.update(toBuffer(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }

  reset(): void {
    this.#hash = NodeSha256.#create(this.#secret);
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export type { TokenRequest } from './presign.js';

/**
 * A DSQL IAM token: a SigV4-presigned `GET https://<hostname>/?Action=<action>` (service `dsql`,
 * signed header `host`) without its `https://` prefix, as `@aws-sdk/dsql-signer` makes it.
 *
 * @example
 * const token = await signDsqlToken({ hostname, region, action: 'DbConnectAdmin', expiresInSecs: 900, credentials, signingDate: new Date() });
 */
export async function signDsqlToken(request: TokenRequest): Promise<string> {
  const loaded = await loadSigning();
  return presignDsqlToken(request, { ...loaded, sha256: NodeSha256 });
}
