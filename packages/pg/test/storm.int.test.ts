import { jest } from '@jest/globals';
import type { DsqlLocal } from '@dsql/local';
import { DsqlPool } from '../src/index.js';
import { countingCredentials, startLocal } from './support/local.js';

jest.setTimeout(90_000);

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal({ connectRate: { perSecond: 20, burst: 20 } });
});
afterAll(async () => {
  await local?.stop();
});

it('connection storm: 200 concurrent first queries against 20/s burst 20 → zero errors for the application', async () => {
  const credentials = countingCredentials(local);
  // The client-side limiter is left at its default (100/s, burst 1,000, faster than this emulator
  // allows), so the emulator really refuses connections with 53400 and the pool has to retry them.
  const pool = new DsqlPool({ ...local.connectionOptions(), credentials, max: 200, connectionTimeoutMillis: 60_000 });
  const poolErrors: Error[] = [];
  pool.on('error', (err) => poolErrors.push(err));
  try {
    // Each query holds its connection for a while, so the pool really needs many new connections.
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => pool.query('SELECT $1::int AS i, pg_sleep(0.3)', [i])),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toEqual([]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.rows[0].i : null))).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(poolErrors).toEqual([]);
    const stats = local.stats();
    expect(stats.rateLimited).toBeGreaterThan(0); // refusals happened, and none reached the caller
    expect(stats.authenticated).toBeGreaterThan(40); // well past the burst of 20
    expect(credentials.calls).toBe(1);
  } finally {
    await pool.end();
  }
});
