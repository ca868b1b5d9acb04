import { jest } from '@jest/globals';
import type { DsqlLocal } from '@dsql/local';
import { DsqlPool, type DsqlPoolConfig } from '../src/index.js';
import { countingCredentials, startLocal } from './support/local.js';

jest.setTimeout(90_000);

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal({ connectRate: { perSecond: 20, burst: 20 } });
});
afterAll(async () => {
  await local?.stop();
});

/** 200 concurrent first queries, each holding its connection for a while so the pool really needs many new ones. */
async function storm(options: DsqlPoolConfig): Promise<{ failed: unknown[]; poolErrors: unknown[]; credentialCalls: number }> {
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

describe('connection storm: 200 concurrent first queries against an endpoint allowing 20/s, burst 20', () => {
  it('with the client-side rate limiter just under the endpoint quota: no refusals, zero errors', async () => {
    const before = local.stats();
    // 10 % under the quota leaves room for network jitter between the two token buckets.
    const r = await storm({ connectRateLimit: { perSecond: 18, burst: 18 } });
    expect(r.failed).toEqual([]);
    expect(r.poolErrors).toEqual([]);
    expect(r.credentialCalls).toBe(1);
    const after = local.stats();
    expect(after.authenticated - before.authenticated).toBeGreaterThan(20); // well past the burst
    expect(after.rateLimited - before.rateLimited).toBe(0); // the pool paced itself
  });

  it('without a client-side limit: the endpoint refuses (53400) and retries absorb every refusal', async () => {
    const before = local.stats();
    const r = await storm({ connectRateLimit: false });
    expect(r.failed).toEqual([]);
    expect(r.poolErrors).toEqual([]);
    const after = local.stats();
    expect(after.rateLimited - before.rateLimited).toBeGreaterThan(0);
    expect(after.authenticated - before.authenticated).toBeGreaterThan(20);
  });
});
