import { jest } from '@jest/globals';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TokenProvider, resolveConfig, isDsqlError, type AwsCredentials } from '../src/index.js';
import { SharedRegistry, SWEEP_INTERVAL_MS, setSharedRegistryClock } from '../src/shared-registry.js';
import { sharedTokenProviderStats, tokenProviderFor } from '../src/auth/token-provider.js';
import { sharedCredentialCache, sharedCredentialCacheStats } from '../src/auth/credentials.js';
import { sharedConnectRateLimiter, sharedConnectRateLimiterStats } from '../src/connect/rate-limiter-for.js';
import { CLUSTER, CREDS, HOST, manualClock } from './helpers.js';

/**
 * A full garbage collection, without starting jest with --expose-gc: the flag is set at run time
 * and a fresh context hands out its `gc`. WeakRef targets touched in the current job are kept
 * until it ends, hence the turn of the event loop first.
 */
async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

/**
 * How many of `refs` survive garbage collection. Collects up to five times, a turn of the event
 * loop apart: on a loaded machine one pass has left a few objects that a settling promise or
 * timer callback still held (seen once in CI: 3 of 30,000). A registry that really keeps them
 * keeps all of them through every pass.
 */
async function aliveAfterGc(refs: readonly WeakRef<object>[]): Promise<number> {
  let count = refs.length;
  for (let pass = 0; pass < 5 && count > 0; pass++) {
    await collectGarbage();
    count = alive(refs);
  }
  return count;
}

function alive(refs: readonly WeakRef<object>[]): number {
  return refs.filter((ref) => ref.deref() !== undefined).length;
}

const clock = manualClock(Date.UTC(2026, 0, 1));
const DAY = 24 * 3600_000;

beforeAll(() => setSharedRegistryClock(clock.now));
afterAll(() => setSharedRegistryClock());
// Every test starts a day later, so whatever earlier tests looked up is idle at the first sweep.
beforeEach(() => clock.advance(DAY));

describe('SharedRegistry', () => {
  it('holds a value for holdMs after its last lookup, then only weakly, still shared while referenced', () => {
    const reg = new SharedRegistry<{ id: string }>({ holdMs: () => 60_000 });
    const a = reg.get('a', () => ({ id: 'a' }));
    expect(reg.get('a', () => ({ id: 'other' }))).toBe(a);
    expect(reg.stats()).toEqual({ entries: 1, held: 1 });
    clock.advance(59_999);
    reg.get('b', () => ({ id: 'b' })); // sweeps (the interval has passed) but 'a' is still within its hold
    expect(reg.stats()).toEqual({ entries: 2, held: 2 });
    clock.advance(SWEEP_INTERVAL_MS);
    reg.get('c', () => ({ id: 'c' })); // 'a' is past its hold now; 'b' is not
    expect(reg.stats()).toEqual({ entries: 3, held: 2 });
    // Released, but this test still references it: the same value comes back, held again.
    expect(reg.get('a', () => ({ id: 'other' }))).toBe(a);
    expect(reg.stats()).toEqual({ entries: 3, held: 3 });
  });

  it('keeps a busy value held past its hold', () => {
    const value = { busy: true };
    const reg = new SharedRegistry<{ busy: boolean }>({ holdMs: () => 0, busy: (v) => v.busy });
    reg.get('x', () => value);
    clock.advance(SWEEP_INTERVAL_MS);
    reg.sweep();
    expect(reg.stats().held).toBe(1);
    value.busy = false;
    reg.sweep();
    expect(reg.stats().held).toBe(0);
  });

  it('stores nothing when creating the value throws', () => {
    const reg = new SharedRegistry<object>({ holdMs: () => 1000 });
    expect(() =>
      reg.get('x', () => {
        throw new Error('bad options');
      }),
    ).toThrow('bad options');
    expect(reg.stats()).toEqual({ entries: 0, held: 0 });
  });

  it('sweeps as it grows, and forgets values once they are collected', async () => {
    const reg = new SharedRegistry<object>({ holdMs: () => 1000 });
    const kept = reg.get('kept', () => ({}));
    const refs: WeakRef<object>[] = [];
    (() => {
      for (let i = 0; i < 10_000; i++) refs.push(new WeakRef(reg.get(`k${i}`, () => ({}))));
    })();
    expect(reg.stats()).toEqual({ entries: 10_001, held: 10_001 }); // all within their hold
    clock.advance(1000);
    reg.sweep();
    expect(reg.stats().held).toBe(0);
    expect(await aliveAfterGc(refs)).toBe(0);
    reg.sweep(); // the FinalizationRegistry may have been first; either way only 'kept' remains
    expect(reg.stats()).toEqual({ entries: 1, held: 0 });
    expect(reg.get('kept', () => ({}))).toBe(kept);
  });
});

describe('shared token providers and credential caches', () => {
  it('leave nothing behind for 10,000 throwaway credential objects (one per request, tenant or pool)', async () => {
    const before = { providers: sharedTokenProviderStats(), caches: sharedCredentialCacheStats() };
    const refs: WeakRef<object>[] = [];
    await (async () => {
      for (let i = 0; i < 10_000; i++) {
        const credentials: AwsCredentials = { accessKeyId: `AKIA${String(i).padStart(16, '0')}`, secretAccessKey: CREDS.secretAccessKey };
        const tokens = TokenProvider.shared({ host: HOST, region: 'us-east-1', user: 'app', credentials });
        expect(TokenProvider.shared({ host: HOST, region: 'us-east-1', user: 'app', credentials })).toBe(tokens); // shared while alive
        if (i % 500 === 0) await tokens.getToken(); // some of them signed and holding a token
        refs.push(new WeakRef(tokens), new WeakRef(credentials), new WeakRef(sharedCredentialCache({ credentials })));
      }
    })();
    // Explicit credentials never enter the name-keyed registries...
    expect(sharedTokenProviderStats()).toEqual(before.providers);
    expect(sharedCredentialCacheStats()).toEqual(before.caches);
    // ...and once the credentials are unreachable, their providers and caches are gone as well,
    // tokens still valid or not (nobody can look them up any more). With a registry that held them
    // strongly, all 30,000 would be alive.
    // At most one iteration's three objects: under V8's precise coverage (`jest --coverage`, as
    // `pnpm test` runs) the last signing call's provider, credentials and cache stay reachable from
    // the coverage bookkeeping (seen: exactly indices 28500–28502, i = 9500), never without it.
    expect(await aliveAfterGc(refs)).toBeLessThanOrEqual(3);
  });

  it('still give 50 concurrent users of one endpoint, role and credential source one provider, one resolution, one signing', async () => {
    let resolutions = 0;
    const credentials = async (): Promise<AwsCredentials> => {
      resolutions++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return CREDS;
    };
    // 50 pools, each resolving its own config from the same options.
    const providers = Array.from({ length: 50 }, () => tokenProviderFor(resolveConfig({ host: CLUSTER, region: 'us-east-1', user: 'app', credentials }, undefined, {})));
    expect(new Set(providers).size).toBe(1);
    const tokens = await Promise.all(providers.map((p) => p.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(resolutions).toBe(1);
    expect(providers[0]!.stats()).toMatchObject({ signings: 1, credentialResolutions: 1 });
  });

  it('release providers of profiles and the default chain after their token lifetime, shared while a pool holds one', async () => {
    const base = sharedTokenProviderStats();
    const pool = TokenProvider.shared({ host: HOST, region: 'us-east-1', user: 'tenant_pool', profile: 'tenants' });
    const refs: WeakRef<object>[] = [];
    (() => {
      // One role per tenant, looked up once and dropped (e.g. a pool per Lambda invocation).
      for (let i = 0; i < 10_000; i++) refs.push(new WeakRef(TokenProvider.shared({ host: HOST, region: 'us-east-1', user: `tenant_${i}`, profile: 'tenants' })));
    })();
    expect(sharedTokenProviderStats().held).toBe(10_001);
    const profileCache = sharedCredentialCache({ profile: 'tenants', region: 'us-east-1' });

    clock.advance(600_000); // within the 900 s token lifetime: nothing released
    TokenProvider.shared({ host: HOST, region: 'us-east-1', user: 'probe', profile: 'tenants' });
    expect(sharedTokenProviderStats().held).toBe(10_002);

    clock.advance(300_000 + SWEEP_INTERVAL_MS); // past the lifetime of all but 'probe'
    TokenProvider.shared({ host: HOST, region: 'us-east-1', user: 'probe', profile: 'tenants' });
    expect(sharedTokenProviderStats().held).toBe(1);
    // The pool still holds its provider, so it is still the one everybody gets.
    expect(TokenProvider.shared({ host: HOST, region: 'us-east-1', user: 'tenant_pool', profile: 'tenants' })).toBe(pool);
    expect(sharedCredentialCache({ profile: 'tenants', region: 'us-east-1' })).toBe(profileCache);

    expect(await aliveAfterGc(refs)).toBe(0);
    clock.advance(SWEEP_INTERVAL_MS);
    TokenProvider.shared({ host: HOST, region: 'us-east-1', user: 'probe', profile: 'tenants' });
    expect(sharedTokenProviderStats().entries).toBeLessThanOrEqual(base.entries + 2); // 'tenant_pool' and 'probe'
  });
});

describe('sharedConnectRateLimiter', () => {
  it('keeps the stricter of differing options, field by field, and warns once per setting', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const endpoint = 'mismatch.dsql.us-east-1.on.aws:5432';
      const a = sharedConnectRateLimiter(endpoint, { perSecond: 100, burst: 1000 });
      expect(sharedConnectRateLimiter(endpoint)).toBe(a); // no options: joins as it is
      expect(sharedConnectRateLimiter(endpoint, { perSecond: 100, burst: 1000 })).toBe(a);
      expect(warn).not.toHaveBeenCalled();

      expect(sharedConnectRateLimiter(endpoint, { perSecond: 10, burst: 20 })).toBe(a);
      expect([a.perSecond, a.burst]).toEqual([10, 20]);
      expect(warn).toHaveBeenCalledTimes(1);
      const [message, options] = warn.mock.calls[0] as [string, { code: string; type: string }];
      expect(options).toEqual({ type: 'DsqlWarning', code: 'DSQL_CONNECT_RATE_LIMIT_MISMATCH' });
      expect(message).toContain(endpoint);
      expect(message).toMatch(/asked for 10\/s, burst 20.*already shares 100\/s, burst 1000.*stricter 10\/s, burst 20/);

      // A looser request changes nothing but is told so, once.
      sharedConnectRateLimiter(endpoint, { perSecond: 100, burst: 1000 });
      sharedConnectRateLimiter(endpoint, { perSecond: 100, burst: 1000 });
      expect([a.perSecond, a.burst]).toEqual([10, 20]);
      expect(warn).toHaveBeenCalledTimes(2);
      expect(warn.mock.calls[1]![0]).toMatch(/asked for 100\/s, burst 1000.*stricter 10\/s, burst 20/);

      // Mixed: the lower burst wins, the rate stays.
      sharedConnectRateLimiter(endpoint, { perSecond: 50, burst: 3 });
      expect([a.perSecond, a.burst]).toEqual([10, 3]);
      expect(warn).toHaveBeenCalledTimes(3);

      // The lower burst applies to the bucket at once: 3 now, the 4th is 100 ms away (10/s).
      for (let i = 0; i < 3; i++) await a.acquire({ timeoutMs: 0 });
      const err = await a.acquire({ timeoutMs: 0 }).catch((e: unknown) => e);
      expect(isDsqlError(err, 'timeout')).toBe(true);
      expect((err as Error).message).toMatch(/100 ms away.*limit 10\/s, burst 3/);
    } finally {
      warn.mockRestore();
    }
  });

  it('validates the options of a later caller', () => {
    sharedConnectRateLimiter('validate.dsql.us-east-1.on.aws');
    expect(() => sharedConnectRateLimiter('validate.dsql.us-east-1.on.aws', { perSecond: -1 })).toThrow(/connectRateLimit.perSecond/);
  });

  it('keeps a limiter while its bucket refills, releases it once full and idle, shares it while a pool holds it', async () => {
    const endpoint = 'refill.dsql.us-east-1.on.aws';
    // 1 token per 100 s, burst 2: a drained bucket takes 200 s to refill (its hold after a lookup).
    const pool = sharedConnectRateLimiter(endpoint, { perSecond: 0.01, burst: 2 });
    const trigger = (): void => void sharedConnectRateLimiter(`trigger-${clock.now()}.dsql.us-east-1.on.aws`);
    trigger(); // the day-old entries of earlier tests are released here
    const held = (): number => sharedConnectRateLimiterStats().held;
    expect(held()).toBe(2); // the pool's limiter and the trigger

    clock.advance(150_000);
    await pool.acquire({ timeoutMs: 0 });
    await pool.acquire({ timeoutMs: 0 }); // drained at +150 s: full again at +350 s
    clock.advance(100_000); // +250 s: past its 200 s hold, but still refilling
    trigger();
    expect(held()).toBe(2); // the new trigger, and the refilling limiter; the first trigger's 10 s hold has passed

    clock.advance(101_000); // +351 s: full; the triggers' own holds (10 s at the default rate) have passed
    trigger();
    expect(held()).toBe(1); // only the newest trigger
    expect(sharedConnectRateLimiter(endpoint)).toBe(pool); // still shared: the pool holds it
    expect([pool.perSecond, pool.burst]).toEqual([0.01, 2]);

    const refs: WeakRef<object>[] = [];
    (() => {
      for (let i = 0; i < 1000; i++) refs.push(new WeakRef(sharedConnectRateLimiter(`gone-${i}.dsql.us-east-1.on.aws`)));
    })();
    clock.advance(DAY);
    trigger();
    expect(await aliveAfterGc(refs)).toBe(0);
    clock.advance(SWEEP_INTERVAL_MS);
    trigger();
    expect(sharedConnectRateLimiterStats().entries).toBeLessThan(10);
  });
});
