import { jest } from '@jest/globals';
import type { DsqlLocal } from '@dsql/local';
import { DsqlPool, type DsqlPoolConfig } from '../src/index.js';
import { countingCredentials, startLocal } from './support/local.js';

jest.setTimeout(90_000);

// Two endpoints: how fast connections reach an endpoint's bucket depends on the CPU the test
// gets (the endpoint takes from it after TLS and the token check, in this process), so the one
// that must refuse allows few (10/s: refusals whatever the machine's load), and the one a
// limiter must never overrun is paced with a wide margin (an admission can lag its grant).
let local: DsqlLocal;
let tight: DsqlLocal;
beforeAll(async () => {
  [local, tight] = await Promise.all([
    startLocal({ connectRate: { perSecond: 20, burst: 20 } }),
    startLocal({ connectRate: { perSecond: 10, burst: 10 } }),
  ]);
});
afterAll(async () => {
  await Promise.all([local?.stop(), tight?.stop()]);
});

/** 200 concurrent first queries, each holding its connection for a while so the pool really needs many new ones. */
async function storm(local: DsqlLocal, options: DsqlPoolConfig): Promise<{ failed: unknown[]; poolErrors: unknown[]; credentialCalls: number }> {
  const credentials = countingCredentials(local);
  const pool = new DsqlPool({ ...local.connectionOptions(), credentials, max: 200, connectionTimeoutMillis: 60_000, ...options });
  const poolErrors: unknown[] = [];
  pool.on('error', (err) => poolErrors.push(err));
  try {
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => pool.query('SELECT $1::int AS i, pg_sleep(0.3)', [i])));
    const failed = results.filter((r) => r.status === 'rejected');
    const values = results.map((r) => (r.status === 'fulfilled' ? r.value.rows[0].i : null));
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => (results[i]!.status === 'fulfilled' ? i : null)));
    return { failed, poolErrors, credentialCalls: credentials.calls };
  } finally {
    await pool.end();
  }
}

describe('connection storm: 200 concurrent first queries against a rate-limited endpoint', () => {
  it('with the client-side rate limiter under the endpoint quota: no refusals, zero errors', async () => {
    const before = local.stats();
    // 12/s burst 6 under 20/s burst 20: an admission may lag its grant by ~1 s without a refusal.
    const r = await storm(local, { connectRateLimit: { perSecond: 12, burst: 6 } });
    expect(r.failed).toEqual([]);
    expect(r.poolErrors).toEqual([]);
    expect(r.credentialCalls).toBe(1);
    const after = local.stats();
    expect(after.authenticated - before.authenticated).toBeGreaterThan(20); // well past the burst
    expect(after.rateLimited - before.rateLimited).toBe(0); // the pool paced itself
  });

  it('without a client-side limit: the endpoint refuses (53400) and retries absorb every refusal', async () => {
    const before = tight.stats();
    const r = await storm(tight, { connectRateLimit: false });
    expect(r.failed).toEqual([]);
    expect(r.poolErrors).toEqual([]);
    const after = tight.stats();
    expect(after.rateLimited - before.rateLimited).toBeGreaterThan(0);
    expect(after.authenticated - before.authenticated).toBeGreaterThan(10);
  });
});
