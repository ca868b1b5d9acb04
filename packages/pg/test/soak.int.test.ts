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
    maxLifetimeSeconds: [2, 3.5],
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

  const stats = local.stats();
  const during = removedAt.filter((t) => t < SOAK_MS);
  let worstWindow = 0;
  for (const t of during) worstWindow = Math.max(worstWindow, during.filter((u) => u >= t && u < t + 250).length);
  const firstGeneration = during.slice(0, 8);
  const summary = {
    appErrors: appErrors.length,
    poolErrors: poolErrors.length,
    closedByServerForAge: stats.closedForAge,
    enoughQueries: queries > 1_000,
    // 8 connections living 2–3.5 s over 30 s: many generations were replaced…
    manyReplacements: during.length >= 40,
    // …at spread-out times, not in waves (a fixed lifetime retires all 8 within one window)…
    noWaves: worstWindow <= 6,
    // …and the first generation, opened together, was retired over more than 0.4 s (8 draws from a 1.5 s window).
    firstGenerationSpread: Math.max(...firstGeneration) - Math.min(...firstGeneration) > 400,
  };
  expect({ summary, details: { queries, replacements: during.length, worstWindow, firstGeneration, firstAppError: String(appErrors[0]) } }).toMatchObject({
    summary: {
      appErrors: 0,
      poolErrors: 0,
      // The pool retired its connections itself, before the server's age limit closed any.
      closedByServerForAge: 0,
      enoughQueries: true,
      manyReplacements: true,
      noWaves: true,
      firstGenerationSpread: true,
    },
  });
});
