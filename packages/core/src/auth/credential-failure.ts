/**
 * Whether a credential provider's failure goes away by itself (the endpoint did not answer)
 * or will fail the same way again (nothing configured, access denied). Internal.
 */
import type { isThrottlingError, isTransientError } from '@smithy/service-error-classification';
import { errorChain, type ErrorFields } from '../errors/error-chain.js';

/**
 * Failures that some credential providers report only as text, which the SDK's classification
 * (it reads `name`, `code`, `$metadata` and `$retryable`) does not see:
 * - `fromHttp` (ECS/EKS container credentials) wraps a network error as `String(err)`
 *   ("Error: connect ECONNREFUSED 169.254.170.2:80", "TimeoutError: …") and a failed response
 *   as "Server responded with status: 503";
 * - IMDS says "TimeoutError from instance metadata service" (no code, no status);
 * - hand-written providers usually throw `new Error('connect ECONNREFUSED …')`.
 */
const TRANSIENT_TEXT =
  /\b(?:ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)\b|\bTimeoutError\b|\btimed out\b|socket hang up|responded with status:? (?:5\d\d|429)\b/i;

/** An HTTP status that says "try again later": throttled, or a server error. */
function retryableStatus(status: unknown): boolean {
  return typeof status === 'number' && (status === 429 || (status >= 500 && status <= 599));
}

interface SdkClassification {
  readonly isTransientError: typeof isTransientError;
  readonly isThrottlingError: typeof isThrottlingError;
}

let classification: Promise<SdkClassification> | undefined;

/** Loaded when a credential source first fails (its ESM build costs a cold start some 25 ms). */
function loadClassification(): Promise<SdkClassification> {
  classification ??= import('@smithy/service-error-classification').then(
    (m) => ({ isTransientError: m.isTransientError, isThrottlingError: m.isThrottlingError }),
    (err: unknown) => {
      classification = undefined;
      throw err;
    },
  );
  return classification;
}

function isTransientNode(f: ErrorFields, sdkClassification: SdkClassification): boolean {
  const node = f.node as { name?: unknown; statusCode?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if (f.name === 'AbortError') return false;
  // The SDK's own classification (what its retry strategy retries): throttling error names and
  // 429, 500/502/503/504, TimeoutError / RequestTimeout, Node socket and DNS codes, $retryable.
  const sdk = node as Parameters<typeof isTransientError>[0];
  if (sdkClassification.isTransientError(sdk) || sdkClassification.isThrottlingError(sdk)) return true;
  // IMDS puts the status on `statusCode` (ProviderError), SDK clients on `$metadata.httpStatusCode`.
  if (retryableStatus(node.statusCode) || retryableStatus(node.$metadata?.httpStatusCode)) return true;
  return TRANSIENT_TEXT.test(f.message);
}

/**
 * True when a credential provider's error (anywhere in its `cause` chain or `AggregateError`s)
 * says the credential endpoint was unreachable, timed out, throttled or answered 5xx — the
 * failure of a working source, which passes. False for everything else: no credentials in the
 * chain ("Could not load credentials from any providers"), a profile that does not exist, an
 * expired SSO session, access denied (403), malformed credentials — these fail the same way
 * again until someone fixes the configuration.
 *
 * Note: the SDK's default chain (`fromNodeProviderChain`) ends with "Could not load credentials
 * from any providers" and drops the error of the provider that failed before it, so an
 * unreachable IMDS or container endpoint looks like a missing source through it. Credentials
 * already in hand still ride such outages out (see `CredentialCache`); only a cold start or
 * credentials that really expired during the outage fail at once.
 *
 * @internal
 */
export async function isTransientCredentialFailure(err: unknown): Promise<boolean> {
  const sdkClassification = await loadClassification();
  return errorChain(err).some((f) => isTransientNode(f, sdkClassification));
}
