import pg from 'pg';
import { createDsqlSession } from '@dsql/core';

const HOST = 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws';
const credentials = { accessKeyId: 'AKIAEXAMPLEEXAMPLE12', secretAccessKey: 'secret-secret' };
const lifetime = (maxLifetimeSeconds: number | [number, number]) => createDsqlSession({ host: HOST, credentials, maxLifetimeSeconds }, undefined, {}).lifetime;
import { jitterMaxLifetime } from '../src/lifetime.js';

describe('jitterMaxLifetime', () => {
  it('gives each read (one per new connection) its own lifetime inside the window', async () => {
    const pool = new pg.Pool({ maxLifetimeSeconds: 3300 });
    jitterMaxLifetime(pool as never, lifetime([2700, 3300]));
    const draws = Array.from({ length: 200 }, () => (pool as unknown as { options: { maxLifetimeSeconds: number } }).options.maxLifetimeSeconds);
    for (const d of draws) {
      expect(d).toBeGreaterThanOrEqual(2700);
      expect(d).toBeLessThanOrEqual(3300);
    }
    expect(new Set(draws).size).toBeGreaterThan(150);
    // spread over the window, not clustered at one end
    expect(Math.min(...draws)).toBeLessThan(2800);
    expect(Math.max(...draws)).toBeGreaterThan(3200);
    await pool.end();
  });

  it('keeps a fixed lifetime when the window is a single value', async () => {
    const pool = new pg.Pool();
    jitterMaxLifetime(pool as never, lifetime(60));
    expect((pool as unknown as { options: { maxLifetimeSeconds: number } }).options.maxLifetimeSeconds).toBe(60);
    await pool.end();
  });
});
