// Observes every DSQL token signed with the AWS SDK's SigV4 signer module (`@smithy/signature-v4`)
// in this process: AWS's connector (through `@aws-sdk/dsql-signer`), and @dsql/core when it runs
// from source (jest maps `@dsql/*` to src, whose src/auth/sigv4.ts imports the package). Core's
// published build bundles its own copy of the signer, which this does not see: count those
// through core's `dsql:token:signed` channel (lib/measure.mjs). Wrapping
// `SignatureV4.prototype.presign` touches neither connector. The signer's CommonJS and ESM builds
// are separate modules; both are wrapped.
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
