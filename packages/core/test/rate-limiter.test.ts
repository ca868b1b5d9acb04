import { ConnectRateLimiter, isDsqlError, DEFAULT_CONNECT_RATE } from '../src/index.js';
import { sharedConnectRateLimiter } from '../src/connect/rate-limiter-for.js';
import { manualClock } from './helpers.js';

function limiter(perSecond: number, burst: number) {
  const clock = manualClock(0);
  const waits: number[] = [];
  const l = new ConnectRateLimiter({
    perSecond,
    burst,
    now: clock.now,
    sleep: async (ms, signal) => {
      waits.push(ms);
      if (signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'DsqlAbortError', code: 'aborted' });
    },
  });
  return { l, clock, waits };
}

describe('ConnectRateLimiter', () => {
  it('admits burst at once, then perSecond', async () => {
    const { l, clock, waits } = limiter(100, 1000);
    await Promise.all(Array.from({ length: 1000 }, () => l.acquire()));
    expect(waits).toEqual([]);
    await Promise.all(Array.from({ length: 5 }, () => l.acquire()));
    expect(waits).toEqual([10, 20, 30, 40, 50]); // one slot every 10 ms at 100/s, in arrival order
    expect(l.stats()).toEqual({ immediate: 1000, delayed: 5, refused: 0, rateExceeded: 0 });
    // After a second the bucket holds 100 − 5 reserved = 95 tokens again.
    clock.advance(1000);
    await Promise.all(Array.from({ length: 95 }, () => l.acquire()));
    expect(waits).toHaveLength(5);
    await l.acquire();
    expect(waits.at(-1)).toBe(10);
  });

  it('refills continuously but never beyond burst', async () => {
    const { l, clock, waits } = limiter(10, 2);
    await l.acquire();
    await l.acquire();
    clock.advance(60_000);
    await l.acquire();
    await l.acquire();
    await l.acquire();
    expect(waits).toEqual([100]);
  });

  it('refuses at once when the wait would exceed timeoutMs, and gives the slot back', async () => {
    const { l, waits } = limiter(1, 1);
    await l.acquire();
    const err = await l.acquire({ timeoutMs: 500 }).catch((e: unknown) => e);
    expect(isDsqlError(err, 'timeout')).toBe(true);
    expect((err as Error).message).toMatch(/1000 ms away.*500 ms/);
    expect(waits).toEqual([]);
    await l.acquire({ timeoutMs: 1000 });
    expect(waits).toEqual([1000]); // the refused reservation was returned
    expect(l.stats().refused).toBe(1);
  });

  it('honours an abort signal (real timers), returning the reservation', async () => {
    const l = new ConnectRateLimiter({ perSecond: 20, burst: 1 });
    await l.acquire();
    const controller = new AbortController();
    const p = l.acquire({ signal: controller.signal });
    setTimeout(() => controller.abort(), 5);
    await expect(p).rejects.toMatchObject({ code: 'aborted' });
    await expect(l.acquire({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'aborted' });
    expect(l.stats()).toEqual({ immediate: 1, delayed: 0, refused: 2, rateExceeded: 0 });
    // The aborted waiters' slots were given back: the next one is at most 50 ms after the first.
    await expect(l.acquire({ timeoutMs: 50 })).resolves.toBeUndefined();
  });

  it('is shared per endpoint across the process', () => {
    const a = sharedConnectRateLimiter('abc.dsql.us-east-1.on.aws', { perSecond: 5, burst: 5 });
    expect(sharedConnectRateLimiter('ABC.dsql.us-east-1.on.aws')).toBe(a);
    expect(a.perSecond).toBe(5);
    expect(sharedConnectRateLimiter('other.dsql.us-east-1.on.aws')).not.toBe(a);
  });

  it('defaults to DSQL quotas and validates options', () => {
    const l = new ConnectRateLimiter();
    expect([l.perSecond, l.burst]).toEqual([DEFAULT_CONNECT_RATE.perSecond, DEFAULT_CONNECT_RATE.burst]);
    expect(() => new ConnectRateLimiter({ perSecond: -1 })).toThrow(/connectRateLimit.perSecond/);
    expect(() => new ConnectRateLimiter({ burst: 0 })).toThrow(/connectRateLimit.burst/);
  });
});
