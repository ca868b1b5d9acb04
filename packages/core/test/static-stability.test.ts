import { inspect } from 'node:util';
import { CredentialCache } from '../src/auth/credentials.js';
import { TokenProvider, isDsqlError, type AwsCredentials, type DsqlCredentialsError } from '../src/index.js';
import { HOST, manualClock, verifyToken } from './helpers.js';

const SECRET = 'outageSecretAccessKeyThatMustNeverShow0000';
const MINUTE = 60_000;
/** A clock on a whole second, so token validity (X-Amz-Date has whole seconds) is easy to reason about. */
const T0 = Math.floor(Date.now() / 1000) * 1000;

/** Lets background work (a re-resolution started without waiting for it) settle. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A stubbed credential source (like IMDS or the container endpoint): hands out credentials with a
 * fresh access key id that expire `lifetimeMs` after issue, or fails like an unreachable endpoint.
 */
function source(clock: { now: () => number }, lifetimeMs: number) {
  const state = { down: false, calls: 0, issued: 0 };
  const provider = async (): Promise<AwsCredentials> => {
    state.calls++;
    if (state.down) throw new Error(`connect ECONNREFUSED 169.254.170.2:80 (secretAccessKey=${SECRET})`);
    state.issued++;
    return {
      accessKeyId: `ASIAOUTAGETEST${String(state.issued).padStart(6, '0')}`,
      secretAccessKey: SECRET,
      sessionToken: `session${state.issued}`,
      expiration: new Date(clock.now() + lifetimeMs),
    };
  };
  return { state, provider };
}

describe('CredentialCache static stability', () => {
  it('serves the credentials in hand when re-resolving fails before they expire, and picks up fresh ones after the outage', async () => {
    const clock = manualClock(T0);
    const { state, provider } = source(clock, 15 * MINUTE);
    const cache = new CredentialCache({ credentials: provider }, { now: clock.now });
    const first = await cache.get();
    expect(first.accessKeyId).toBe('ASIAOUTAGETEST000001');

    // Refresh window (5 min before expiry), source down: the credentials in hand, no error.
    clock.advance(10 * MINUTE + 1);
    state.down = true;
    await expect(cache.get()).resolves.toBe(first);
    expect(await cache.lookup()).toEqual({ credentials: first, stale: true });
    expect(state.calls).toBe(2); // the second lookup fell inside the backoff: no new call
    expect(cache.stats()).toMatchObject({ resolutions: 2, failures: 1, staleServed: 2 });

    // Many callers during the outage: the source is asked at most once per backoff (0.5 s, 1 s, 2 s …).
    for (let i = 0; i < 40; i++) {
      clock.advance(100); // 4 s in all
      await expect(cache.get()).resolves.toBe(first);
      await settle();
    }
    expect(state.calls).toBeGreaterThanOrEqual(4); // +0.5 s, +1.5 s, +3.5 s after the first failure
    expect(state.calls).toBeLessThanOrEqual(5);
    expect(cache.stats().staleServed).toBe(42);

    // The source recovers: the next attempt (in the background, once the backoff allows) refreshes.
    state.down = false;
    clock.advance(30_000);
    const during = await cache.lookup();
    expect(during.stale).toBe(true); // this caller did not wait for the attempt it triggered
    await settle();
    const after = await cache.lookup();
    expect(after.stale).toBe(false);
    expect(after.credentials.accessKeyId).toBe('ASIAOUTAGETEST000002');
    // Back to normal: cached until the next refresh window, no more calls.
    const calls = state.calls;
    clock.advance(MINUTE);
    await cache.get();
    expect(state.calls).toBe(calls);
  });

  it('surfaces the error once the credentials in hand have really expired (within the safety margin)', async () => {
    const clock = manualClock(T0);
    const { state, provider } = source(clock, 15 * MINUTE);
    const cache = new CredentialCache({ credentials: provider }, { now: clock.now });
    await cache.get();
    state.down = true;
    clock.advance(15 * MINUTE - 5_001); // 5.001 s left: still served
    await expect(cache.get()).resolves.toMatchObject({ accessKeyId: 'ASIAOUTAGETEST000001' });
    clock.advance(2); // 4.999 s left: too close to expiry to be used for a connection
    const err = await cache.get().catch((e: unknown) => e);
    expect(isDsqlError(err, 'credentials-unavailable')).toBe(true);
    expect((err as DsqlCredentialsError).transient).toBe(true);
    expect(`${(err as Error).message} ${(err as DsqlCredentialsError).hint} ${inspect(err)}`).not.toContain(SECRET);
    // Past the safety margin every call asks the source (callers back off themselves: connectWithRetry).
    const calls = state.calls;
    await expect(cache.get()).rejects.toMatchObject({ code: 'credentials-unavailable' });
    expect(state.calls).toBe(calls + 1);
  });

  it('lets concurrent callers share one attempt during an outage', async () => {
    const clock = manualClock(T0);
    let calls = 0;
    let finished = 0;
    let down = false;
    const provider = async (): Promise<AwsCredentials> => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 20)); // a slow endpoint
      finished++;
      if (down) throw Object.assign(new Error('TimeoutError from instance metadata service'), { name: 'ProviderError' });
      return { accessKeyId: 'ASIAOUTAGETEST000001', secretAccessKey: SECRET, expiration: new Date(clock.now() + 15 * MINUTE) };
    };
    const cache = new CredentialCache({ credentials: provider }, { now: clock.now });
    const first = await cache.get();
    clock.advance(11 * MINUTE);
    down = true;
    const answers = await Promise.all(Array.from({ length: 50 }, () => cache.lookup()));
    expect(answers.every((a) => a.stale && a.credentials === first)).toBe(true);
    expect(calls).toBe(2);
    // Later callers, once the backoff allows, do not wait for the background attempt they start.
    clock.advance(600);
    await Promise.all(Array.from({ length: 50 }, () => cache.get()));
    expect(calls).toBe(3);
    expect(finished).toBe(2); // all 50 were answered while the third attempt was still under way
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(cache.stats()).toEqual({ resolutions: 3, failures: 2, staleServed: 100 });
  });

  it('has nothing to serve on a cold start: the first failure surfaces', async () => {
    const clock = manualClock(T0);
    const { state, provider } = source(clock, 15 * MINUTE);
    state.down = true;
    const cache = new CredentialCache({ credentials: provider }, { now: clock.now });
    await expect(cache.lookup()).rejects.toMatchObject({ name: 'DsqlCredentialsError', transient: true });
    expect(cache.stats()).toEqual({ resolutions: 1, failures: 1, staleServed: 0 });
  });

  it('rides out a source that answers with junk or already-expired credentials, as any other failure', async () => {
    const clock = manualClock(T0);
    let answer: () => AwsCredentials = () => ({ accessKeyId: 'ASIAOUTAGETEST000001', secretAccessKey: SECRET, expiration: new Date(clock.now() + 15 * MINUTE) });
    const cache = new CredentialCache({ credentials: async () => answer() }, { now: clock.now });
    const first = await cache.get();
    clock.advance(11 * MINUTE);
    answer = () => ({ accessKeyId: 'ASIAOUTAGETEST000002', secretAccessKey: SECRET, expiration: new Date(clock.now() - 1) });
    await expect(cache.get()).resolves.toBe(first);
    answer = () => ({}) as AwsCredentials;
    clock.advance(1_000);
    await expect(cache.get()).resolves.toBe(first);
    await settle();
    expect(cache.stats()).toMatchObject({ failures: 2, staleServed: 2 });
  });
});

describe('TokenProvider static stability', () => {
  it('keeps a still-valid token while the credential source is down at refresh time, then signs with fresh credentials', async () => {
    const clock = manualClock(T0);
    // Credentials live 10 min, tokens 15 min: a token expires with its credentials and is refreshed 60 s before.
    const { state, provider } = source(clock, 10 * MINUTE);
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: provider, now: clock.now });
    const first = await tp.getToken();

    clock.advance(9 * MINUTE); // the token's refresh point; credentials are in their refresh window too
    state.down = true;
    for (let i = 0; i < 20; i++) {
      await expect(tp.getToken()).resolves.toBe(first);
      clock.advance(100);
    }
    const during = tp.stats();
    expect(during).toMatchObject({ signings: 1, staleServed: 20 });
    expect(during.credentialResolutions).toBeLessThanOrEqual(4); // backoff: not once per call
    expect(state.calls).toBe(during.credentialResolutions);

    state.down = false;
    clock.advance(2_000);
    await tp.getToken(); // triggers the background re-resolution
    await settle();
    clock.advance(250);
    const fresh = await tp.getToken();
    expect(fresh).not.toBe(first);
    const verified = await verifyToken(fresh, { accessKeyId: 'ASIAOUTAGETEST000002', secretAccessKey: SECRET, sessionToken: 'session2' });
    expect(verified).toMatchObject({ accessKeyId: 'ASIAOUTAGETEST000002', signatureMatches: true });
    expect(tp.stats().signings).toBe(2);
    // Normal caching again.
    const hits = tp.stats().cacheHits;
    await tp.getToken();
    expect(tp.stats()).toMatchObject({ signings: 2, cacheHits: hits + 1 });
  });

  it('fails once no valid token is left, with a transient DsqlCredentialsError that shows no secret', async () => {
    const clock = manualClock(T0);
    const { state, provider } = source(clock, 10 * MINUTE);
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: provider, now: clock.now });
    await tp.getToken();
    state.down = true;
    clock.advance(10 * MINUTE - 5_001);
    await expect(tp.getToken()).resolves.toContain(HOST);
    clock.advance(2); // 4.999 s before the token (and its credentials) expire
    const err = await tp.getToken().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'DsqlCredentialsError', code: 'credentials-unavailable', transient: true });
    const text = `${(err as Error).message} ${(err as DsqlCredentialsError).hint} ${inspect(err, { depth: 5 })}`;
    expect(text).toContain(HOST);
    expect(text).not.toContain(SECRET);
  });

  it('signs with the credentials in hand when the current token is too close to expiry, and keeps a token whose credentials the cache no longer serves', async () => {
    const clock = manualClock(T0);
    // One-hour credentials, 8-second tokens: the source fails from the first refresh on.
    const { state, provider } = source(clock, 60 * MINUTE);
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: provider, tokenDurationSecs: 8, now: clock.now });
    await tp.getToken();
    state.down = true;
    const expiry = T0 + 60 * MINUTE;

    // In the credentials' refresh window: the 8 s token has long expired, so a new one is signed
    // with the (unexpired) credentials in hand.
    clock.set(expiry - 6_000);
    const late = await tp.getToken();
    expect(tp.stats().signings).toBe(2);
    expect(new URL(`https://${late}`).searchParams.get('X-Amz-Credential')).toContain('ASIAOUTAGETEST000001');

    // 1.5 s before expiry the cache no longer hands the credentials out (5 s margin for one-hour
    // credentials), but the token signed 4.5 s ago is valid until they expire: it is kept.
    clock.set(expiry - 1_500);
    await expect(tp.getToken()).resolves.toBe(late);
    expect(tp.stats().staleServed).toBe(1);
    // 0.5 s before expiry it is not (its margin is a tenth of its 6 s lifetime).
    clock.set(expiry - 500);
    await expect(tp.getToken()).rejects.toMatchObject({ code: 'credentials-unavailable', transient: true });
  });

  it('does not hide a permanent failure behind an expired token', async () => {
    const clock = manualClock(T0);
    let fail = false;
    const provider = async (): Promise<AwsCredentials> => {
      if (fail) throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError', tryNextLink: false });
      return { accessKeyId: 'ASIAOUTAGETEST000001', secretAccessKey: SECRET, expiration: new Date(clock.now() + 10 * MINUTE) };
    };
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: provider, now: clock.now });
    await tp.getToken();
    fail = true;
    clock.advance(9 * MINUTE);
    await expect(tp.getToken()).resolves.toContain(HOST); // still ridden out while valid
    clock.advance(MINUTE);
    await expect(tp.getToken()).rejects.toMatchObject({ code: 'credentials-unavailable', transient: false });
  });
});
