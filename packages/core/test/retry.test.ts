import { jest } from '@jest/globals';
import { withRetry, CommitOutcomeUnknownError, isDsqlError, resolveRetryOptions, type RetryInfo } from '../src/index.js';
import { backoffDelay, DEFAULT_RETRY } from '../src/retry.js';
import { manualClock, pgError } from './helpers.js';

const occ = (): Error => pgError('40001', 'change conflicts with another transaction (OC000)');

/** Deterministic sleep that advances a manual clock and records the delays. */
function fakeTime() {
  const clock = manualClock(0);
  const delays: number[] = [];
  const sleep = async (ms: number): Promise<void> => {
    delays.push(ms);
    clock.advance(ms);
  };
  return { clock, delays, sleep };
}

describe('withRetry', () => {
  it('returns the first success, calling fn with attempt numbers starting at 1', async () => {
    const t = fakeTime();
    const seen: number[] = [];
    const result = await withRetry(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw occ();
        return 'ok';
      },
      { sleep: t.sleep, now: t.clock.now, random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
    expect(t.delays).toEqual([2, 5]); // half of the default 5 ms, 10 ms windows, rounded down
  });

  it('gives up at maxAttempts and rethrows the last error unchanged, with a non-enumerable attempts count', async () => {
    const t = fakeTime();
    const errors: Error[] = [];
    const err = await withRetry(
      async () => {
        const e = occ();
        errors.push(e);
        throw e;
      },
      { maxAttempts: 4, sleep: t.sleep, now: t.clock.now },
    ).catch((e: unknown) => e);
    expect(errors).toHaveLength(4);
    expect(err).toBe(errors[3]);
    expect((err as { attempts: number }).attempts).toBe(4);
    expect(Object.keys(err as object)).not.toContain('attempts');
  });

  it('gives up when the next wait would pass maxElapsedMs', async () => {
    const t = fakeTime();
    const fn = jest.fn(async () => {
      t.clock.advance(100); // each attempt takes 100 ms
      throw occ();
    });
    const err = await withRetry(fn, { maxAttempts: 1000, baseDelayMs: 50, maxDelayMs: 50, maxElapsedMs: 1000, random: () => 0.999, sleep: t.sleep, now: t.clock.now }).catch((e: unknown) => e);
    // 100 ms work + 49 ms wait per round: attempt 7 ends at 994 ms, and 994 + 49 >= 1000.
    expect(fn).toHaveBeenCalledTimes(7);
    expect((err as { attempts: number }).attempts).toBe(7);
    expect(t.clock.now()).toBeLessThan(1000);
  });

  it('does not retry other errors, nor a CommitOutcomeUnknownError even if retryOn says yes', async () => {
    const plain = new Error('syntax error');
    const fn = jest.fn(async () => {
      throw plain;
    });
    await expect(withRetry(fn)).rejects.toBe(plain);
    expect(fn).toHaveBeenCalledTimes(1);
    const lost = new CommitOutcomeUnknownError({ cause: occ() });
    const fn2 = jest.fn(async () => {
      throw lost;
    });
    await expect(withRetry(fn2, { retryOn: () => true })).rejects.toBe(lost);
    expect(fn2).toHaveBeenCalledTimes(1);
  });

  it('retries what retryOn accepts and reports each retry through onRetry', async () => {
    const t = fakeTime();
    const infos: RetryInfo[] = [];
    const flaky = new Error('flaky');
    const result = await withRetry(
      async (attempt) => {
        if (attempt === 1) throw flaky;
        return attempt;
      },
      { retryOn: (e) => e === flaky, onRetry: (i) => infos.push(i), sleep: t.sleep, now: t.clock.now, random: () => 0 },
    );
    expect(result).toBe(2);
    expect(infos).toEqual([{ attempt: 1, delayMs: 0, elapsedMs: 0, error: flaky }]);
  });

  it('backs off exponentially with full jitter, capped', () => {
    const o = { baseDelayMs: 10, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 7, 8, 50].map((a) => backoffDelay(a, o, () => 0.999999))).toEqual([9, 19, 39, 79, 639, 999, 999]);
    expect(backoffDelay(5, o, () => 0)).toBe(0);
  });

  it('stops waiting when aborted, with the last error as cause', async () => {
    const controller = new AbortController();
    const last = occ();
    const p = withRetry(
      async () => {
        throw last;
      },
      { signal: controller.signal, baseDelayMs: 10_000, maxDelayMs: 10_000, random: () => 0.5 },
    );
    setTimeout(() => controller.abort(new Error('shutdown')), 10);
    const err = await p.catch((e: unknown) => e);
    expect(isDsqlError(err, 'aborted')).toBe(true);
    expect((err as Error).cause).toBe(last);
  });

  it('uses real timers by default and the documented defaults', async () => {
    let n = 0;
    await expect(withRetry(async () => (++n < 2 ? Promise.reject(occ()) : 'done'))).resolves.toBe('done');
    expect(DEFAULT_RETRY.maxElapsedMs).toBeLessThan(300_000);
    expect(resolveRetryOptions(undefined)).toBe(DEFAULT_RETRY);
    expect(resolveRetryOptions(false)).toBe(false);
    expect(() => resolveRetryOptions({ signal: {} as never })).toThrow(/AbortSignal/);
  });

  it('leaves frozen errors and primitives alone', async () => {
    const frozen = Object.freeze(occ());
    await expect(withRetry(async () => Promise.reject(frozen), { maxAttempts: 1 })).rejects.toBe(frozen);
    await expect(withRetry(async () => Promise.reject('text'), { maxAttempts: 1 })).rejects.toBe('text');
  });
});
