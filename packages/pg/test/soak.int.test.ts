import { jest } from '@jest/globals';
import type { DsqlLocal } from '@dsql/local';
import { DsqlPool } from '../src/index.js';
import { countingCredentials, sleep, startLocal } from './support/local.js';

// The one long test: 30 s of steady load while connections age out.
jest.setTimeout(90_000);

const SOAK_MS = 30_000;
let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal({ maxConnectionAgeSeconds: 5 });
});
afterAll(async () => {
  await local?.stop();
});

it('recycling soak: 30 s of steady load with a 5 s server connection age → no application errors, spread-out replacements', async () => {
  const pool = new DsqlPool({
    ...local.connectionOptions(),
    credentials: countingCredentials(local),
    max: 8,
    maxLifetimeSeconds: [2, 4],
  });
  const started = Date.now();
  const removedAt: number[] = [];
  const poolErrors: unknown[] = [];
  pool.on('remove', () => removedAt.push(Date.now() - started));
  pool.on('error', (err) => poolErrors.push(err));

  const appErrors: unknown[] = [];
  let queries = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() - started < SOAK_MS) {
      try {
        const { rows } = await pool.query('SELECT 1 AS one');
        if (rows[0].one !== 1) throw new Error('wrong answer');
        queries++;
      } catch (err) {
        appErrors.push(err);
      }
      await sleep(5);
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));
  await pool.end();

  expect(appErrors).toEqual([]);
  expect(poolErrors).toEqual([]);
  expect(queries).toBeGreaterThan(1_000);
  const stats = local.stats();
  // The pool retired its connections itself, before the server's age limit closed any.
  expect(stats.closedForAge).toBe(0);
  // 8 connections living 2–4 s over 30 s: many generations were replaced…
  const during = removedAt.filter((t) => t < SOAK_MS);
  expect(during.length).toBeGreaterThanOrEqual(40);
  // …at spread-out times, not in waves: no 250 ms window holds more than half the pool.
  let worstWindow = 0;
  for (const t of during) worstWindow = Math.max(worstWindow, during.filter((u) => u >= t && u < t + 250).length);
  expect(worstWindow).toBeLessThanOrEqual(4);
  // The first generation, opened together, was retired over more than a second.
  const firstGeneration = during.slice(0, 8);
  expect(Math.max(...firstGeneration) - Math.min(...firstGeneration)).toBeGreaterThan(1_000);
});
