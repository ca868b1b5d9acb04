/**
 * Browser stand-in for the SDK's Node credential chains (`@aws-sdk/credential-provider-ini` and
 * `-node`, swapped in by browser-build.ts): they read files, the instance metadata service and
 * processes, none of which a page has. Core reaches them only when no `credentials` were given,
 * so the error says to give them.
 */
import { DsqlCredentialsError } from '../errors/errors.js';

function unavailable(): never {
  throw new DsqlCredentialsError(
    'browser',
    'credentials: in a browser, pass credentials (an identity or a provider returning { accessKeyId, secretAccessKey, sessionToken }, e.g. a Cognito identity pool); profiles and the default chain are Node only',
  );
}

/** @internal */
export function fromIni(): never {
  return unavailable();
}

/** @internal */
export function defaultProvider(): never {
  return unavailable();
}
