// Observes every DSQL token signed in this process. @dsql/core and AWS's connector both sign with
// the AWS SDK's SigV4 signer (`@smithy/signature-v4`: core directly, AWS's connector through
// `@aws-sdk/dsql-signer`), so wrapping `SignatureV4.prototype.presign` sees both without touching
// either. The signer's CommonJS and ESM builds are separate modules; both are wrapped.
import { createRequire } from 'node:module';
import { buildQueryString } from '@smithy/core/protocols';
import { SignatureV4 as EsmSignatureV4 } from '@smithy/signature-v4';

const { SignatureV4: CjsSignatureV4 } = createRequire(import.meta.url)('@smithy/signature-v4');

/**
 * Calls `onToken(token)` for every DSQL token presigned from now on (a presigned request with
 * `Action=DbConnect` / `DbConnectAdmin`); the token is the one the connectors use (host, `/?`,
 * the query). Returns a function that removes the wrapper.
 *
 * @param {(token: string) => void} onToken
 * @returns {() => void}
 */
export function onTokenSigned(onToken) {
  const restores = [];
  for (const proto of new Set([EsmSignatureV4.prototype, CjsSignatureV4.prototype])) {
    const original = proto.presign;
    proto.presign = async function recordingPresign(...args) {
      const presigned = await original.apply(this, args);
      const action = presigned?.query?.Action;
      if (action === 'DbConnect' || action === 'DbConnectAdmin') onToken(`${presigned.hostname}/?${buildQueryString(presigned.query)}`);
      return presigned;
    };
    restores.push(() => {
      proto.presign = original;
    });
  }
  return () => {
    for (const restore of restores) restore();
  };
}
