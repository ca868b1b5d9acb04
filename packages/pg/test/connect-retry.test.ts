import { connectRetrying } from '../src/connect-retry.js';

const refused = (): Error => Object.assign(new Error('Unable to accept connection, rate exceeded.'), { code: '53400' });
const denied = (): Error => Object.assign(new Error('unable to accept connection, access denied'), { code: '08006' });

/** Runs connectRetrying over an attempt function that fails with `failures` in order, then succeeds. */
function run(failures: Error[], deadlineMs = 5_000): Promise<{ err?: Error; client?: string; calls: number; resets: number }> {
  let calls = 0;
  let resets = 0;
  return new Promise((resolve) => {
    connectRetrying<string>(
      (cb) => {
        const failure = failures[calls++];
        setImmediate(() => (failure ? cb(failure, undefined, () => {}) : cb(undefined, 'client', () => {})));
      },
      { deadlineMs, describe: (e) => Object.assign(e as Error, { described: true }), beforeRetry: () => resets++ },
      (err, client) => resolve({ err, client, calls, resets }),
    );
  });
}

describe('connectRetrying', () => {
  it('passes the first success through with a single attempt', async () => {
    expect(await run([])).toEqual({ err: undefined, client: 'client', calls: 1, resets: 0 });
  });

  it('retries transient refusals (53400, 53300, waking up, reset) until a connection succeeds', async () => {
    const waking = new Error('unable to accept connection, waking up cluster, please retry later');
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const tooMany = Object.assign(new Error('Unable to accept connection, too many open connections.'), { code: '53300' });
    const r = await run([refused(), waking, reset, tooMany]);
    expect(r).toEqual({ err: undefined, client: 'client', calls: 5, resets: 4 });
  });

  it('gives up at once on access denied, with the described error', async () => {
    const r = await run([denied()]);
    expect(r.calls).toBe(1);
    expect(r.err).toMatchObject({ code: '08006', described: true });
  });

  it('stops when the deadline is spent', async () => {
    const started = Date.now();
    const r = await run(Array.from({ length: 1000 }, refused), 300);
    expect(r.err).toMatchObject({ code: '53400', described: true });
    expect(r.calls).toBeGreaterThan(1);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
