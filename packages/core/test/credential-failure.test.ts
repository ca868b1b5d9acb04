import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { fromHttp } from '@aws-sdk/credential-providers';
import { CredentialCache } from '../src/auth/credentials.js';
import {
  DsqlCredentialsError,
  TokenProvider,
  classifyError,
  connectWithRetry,
  describeConnectError,
  isTransientError,
  resolveConfig,
  type AwsCredentialsProvider,
} from '../src/index.js';
import { startCredentialEndpoint, type CredentialEndpoint } from './credential-endpoint.js';
import { HOST, verifyToken } from './helpers.js';

/** Runs `fn` with some environment variables set or removed, restoring them afterwards. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>): void => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[k];
      else process.env[k] = value;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

/** The error a CredentialCache makes of a provider's failure. */
async function failureOf(provider: AwsCredentialsProvider): Promise<DsqlCredentialsError> {
  const err = await new CredentialCache({ credentials: provider }).get().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DsqlCredentialsError);
  return err as DsqlCredentialsError;
}

const failing = (err: unknown): AwsCredentialsProvider => async () => {
  throw err;
};

/** The container endpoint's provider as the SDK builds it, without its own retries (fast tests). */
const containerProvider = (endpoint: CredentialEndpoint): AwsCredentialsProvider =>
  fromHttp({ awsContainerCredentialsFullUri: endpoint.url, maxRetries: 0, timeout: 500 });

describe('transient vs permanent credential failures', () => {
  let endpoint: CredentialEndpoint;
  beforeAll(async () => {
    endpoint = await startCredentialEndpoint({ lifetimeMs: 60 * 60_000 });
  });
  afterAll(async () => {
    await endpoint.close();
  });
  afterEach(async () => {
    await endpoint.set('ok');
  });

  it.each([
    ['down (ECONNREFUSED)', 'down'],
    ['503 Service Unavailable', 503],
    ['500 Internal Server Error', 500],
    ['429 throttled', 429],
  ] as const)('a real container credential endpoint that is %s is transient', async (_name, mode) => {
    await endpoint.set(mode);
    const err = await failureOf(containerProvider(endpoint));
    expect(err.transient).toBe(true);
    expect(isTransientError(err)).toBe(true);
    const c = classifyError(err);
    expect(c).toMatchObject({ kind: 'credentials', retryable: true });
    expect(c.hint).toMatch(/did not answer/);
  });

  it.each([
    ['403 (no role for this task)', 403],
    ['404', 404],
  ] as const)('a real container credential endpoint answering %s is permanent', async (_name, status) => {
    await endpoint.set(status);
    const err = await failureOf(containerProvider(endpoint));
    expect(err.transient).toBe(false);
    expect(isTransientError(err)).toBe(false);
    expect(classifyError(err)).toMatchObject({ kind: 'credentials', retryable: false });
  });

  it.each([
    ['an SDK throttling error', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })],
    ['an STS 503', Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })],
    ['an SDK TimeoutError', Object.assign(new Error('Socket timed out without establishing a connection within 1000 ms'), { name: 'TimeoutError' })],
    ['IMDS timing out', Object.assign(new Error('TimeoutError from instance metadata service'), { name: 'ProviderError', tryNextLink: true })],
    ['IMDS answering 503', Object.assign(new Error('Error response received from instance metadata service'), { name: 'ProviderError', statusCode: 503 })],
    ['a CredentialsProviderError caused by ETIMEDOUT', Object.assign(new Error('Failed to refresh', { cause: Object.assign(new Error('connect ETIMEDOUT 169.254.169.254:80'), { code: 'ETIMEDOUT' }) }), { name: 'CredentialsProviderError' })],
    ['a plain error saying ECONNREFUSED', new Error('connect ECONNREFUSED 169.254.170.2:80')],
  ])('%s is transient', async (_name, cause) => {
    const err = await failureOf(failing(cause));
    expect(err.transient).toBe(true);
    expect(isTransientError(err)).toBe(true);
    expect(err.cause).toBe(cause);
    // The credentials error decides, not the socket error it wraps; wrapped again (by a driver), it still counts.
    expect(classifyError(err)).toMatchObject({ kind: 'credentials', retryable: true });
    expect(isTransientError(new Error('pool checkout failed', { cause: err }))).toBe(true);
  });

  it.each([
    ['no credentials in the chain', Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError', tryNextLink: false })],
    ['an expired SSO session', Object.assign(new Error('The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login with the corresponding profile.'), { name: 'CredentialsProviderError', tryNextLink: false })],
    ['STS access denied', Object.assign(new Error('User: arn:aws:iam::123456789012:user/dev is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/app'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })],
    ['an expired security token', Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredTokenException', $metadata: { httpStatusCode: 400 } })],
    ['an aborted call', Object.assign(new Error('Request aborted'), { name: 'AbortError' })],
  ])('%s is permanent, keeps kind credentials and is left alone by describeConnectError', async (_name, cause) => {
    const err = await failureOf(failing(cause));
    expect(err.transient).toBe(false);
    expect(isTransientError(err)).toBe(false);
    expect(classifyError(err)).toMatchObject({ kind: 'credentials', retryable: false });
    // Not mistaken for DSQL refusing the connection ("not authorized to perform" is STS's answer here).
    const config = resolveConfig({ host: HOST }, undefined, {});
    expect(describeConnectError(err, config)).toBe(err);
  });

  it('classifies real SDK providers: an unknown profile and an empty default chain are permanent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsql-core-creds-'));
    writeFileSync(join(dir, 'credentials'), '');
    writeFileSync(join(dir, 'config'), '');
    try {
      await withEnv(
        {
          AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
          AWS_CONFIG_FILE: join(dir, 'config'),
          AWS_PROFILE: undefined,
          AWS_ACCESS_KEY_ID: undefined,
          AWS_SECRET_ACCESS_KEY: undefined,
          AWS_SESSION_TOKEN: undefined,
          AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
          AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
          AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
          AWS_EC2_METADATA_DISABLED: 'true',
        },
        async () => {
          const profile = await new CredentialCache({ profile: 'nosuchprofile', region: 'us-east-1' }).get().catch((e: unknown) => e);
          expect(profile).toMatchObject({ name: 'DsqlCredentialsError', transient: false });
          const chain = await new CredentialCache({ region: 'us-east-1' }).get().catch((e: unknown) => e);
          expect(chain).toMatchObject({ name: 'DsqlCredentialsError', transient: false });
          expect((chain as Error).message).toMatch(/Could not load credentials/);
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('connectWithRetry retries a transient credential failure until the endpoint recovers (real endpoint, real signer)', async () => {
    await endpoint.set('down');
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: containerProvider(endpoint), now: Date.now });
    const failures: unknown[] = [];
    const token = await connectWithRetry(
      async () => tp.getToken(), // a connection attempt that needs a token
      {
        deadlineMs: 10_000,
        baseDelayMs: 20,
        onRetry: ({ attempt, error }) => {
          failures.push(error);
          if (attempt === 2) void endpoint.set('ok'); // the agent is back
        },
      },
    );
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures.every((e) => e instanceof DsqlCredentialsError && e.transient)).toBe(true);
    const issued = endpoint.issued.at(-1)!;
    expect(await verifyToken(token, issued)).toMatchObject({ signatureMatches: true, accessKeyId: issued.accessKeyId });
    const shown = failures.map((e) => `${(e as Error).message} ${inspect(e, { depth: 6 })}`).join('\n');
    expect(shown).not.toContain(issued.secretAccessKey);
  });

  it('connectWithRetry fails at once on a permanent credential failure', async () => {
    await endpoint.set(403);
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: containerProvider(endpoint), now: Date.now });
    let attempts = 0;
    const requests = endpoint.requests;
    const err = await connectWithRetry(async () => {
      attempts++;
      return tp.getToken();
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'DsqlCredentialsError', transient: false });
    expect(attempts).toBe(1);
    expect(endpoint.requests).toBe(requests + 1);
  });
});
