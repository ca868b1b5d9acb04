import { retryConnect, type ConnectRetryPolicy } from '../src/connect-retry.js';

function policy(over: Partial<ConnectRetryPolicy> = {}): ConnectRetryPolicy {
  return {
    isTransient: (err) => (err as { code?: string }).code === '53400',
    delayMs: () => 1,
    budgetMs: 5_000,
    maxAttempts: 10,
    describe: (err, attempts) => Object.assign(err as Error, { attempts }),
    ...over,
  };
}

const refused = (): Error => Object.assign(new Error('Unable to accept connection, rate exceeded.'), { code: '53400' });

function run(failures: Error[], p: ConnectRetryPolicy): Promise<{ err?: Error; client?: string; calls: number }> {
  let calls = 0;
  return new Promise((resolve) => {
    retryConnect<string>(
      (cb) => {
        const failure = failures[calls++];
        setImmediate(() => (failure ? cb(failure, undefined, () => {}) : cb(undefined, 'client', () => {})));
      },
      p,
      (err, client) => resolve({ err, client, calls }),
    );
  });
}

describe('retryConnect', () => {
  it('passes the first success through with a single attempt', async () => {
    expect(await run([], policy())).toEqual({ err: undefined, client: 'client', calls: 1 });
  });

  it('retries transient refusals until a connection succeeds', async () => {
    const retries: number[] = [];
    const r = await run([refused(), refused(), refused()], policy({ onRetry: (_e, attempt) => retries.push(attempt) }));
    expect(r).toEqual({ err: undefined, client: 'client', calls: 4 });
    expect(retries).toEqual([1, 2, 3]);
  });

  it('gives up at once on a non-transient error, described', async () => {
    const denied = Object.assign(new Error('unable to accept connection, access denied'), { code: '08006' });
    const r = await run([denied], policy());
    expect(r.calls).toBe(1);
    expect(r.err).toBe(denied);
    expect((r.err as Error & { attempts: number }).attempts).toBe(1);
  });

  it('stops after maxAttempts', async () => {
    const r = await run(Array.from({ length: 10 }, refused), policy({ maxAttempts: 3 }));
    expect(r.calls).toBe(3);
    expect((r.err as Error & { attempts: number }).attempts).toBe(3);
  });

  it('stops when the next wait would pass the time budget', async () => {
    const started = Date.now();
    const r = await run(Array.from({ length: 100 }, refused), policy({ budgetMs: 120, delayMs: () => 50, maxAttempts: 100 }));
    expect(r.err).toBeDefined();
    expect(r.calls).toBeGreaterThanOrEqual(2);
    expect(r.calls).toBeLessThanOrEqual(3);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
