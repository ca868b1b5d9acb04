import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { dsql, dsqlStats } from '@dsql/postgres';

// Scenario 2: the endpoint closes connections after ~6 s (as DSQL does after 60 min); the pool
// draws each connection's lifetime from [2, 5] s, so it always retires connections first, and
// not all at once. Steady load for about 30 s must see no error at all.
const AGE_SECONDS = 6;
const SOAK_MS = 30_000;
let local: DsqlLocal;

beforeAll(async () => {
  local = await startDsqlLocal({ maxConnectionAgeSeconds: AGE_SECONDS });
}, 60_000);

afterAll(async () => {
  await local?.stop();
});

it('scenario 2: recycling soak — zero application errors, replacements spread out', async () => {
  const sql = dsql({ ...local.connectionOptions(), max: 8, maxLifetimeSeconds: [2, AGE_SECONDS - 1] });
  const errors: unknown[] = [];
  const openedAt: number[] = [];
  let lastOpened = 0;
  let queries = 0;
  const start = Date.now();
  const sampler = setInterval(() => {
    const opened = dsqlStats(sql)!.connections.opened;
    for (; lastOpened < opened; lastOpened++) openedAt.push(Date.now() - start);
  }, 50);
  try {
    const worker = async (w: number): Promise<void> => {
      while (Date.now() - start < SOAK_MS) {
        try {
          const [row] = await sql`select ${w}::int as w`;
          if (row!.w !== w) throw new Error(`wrong row ${JSON.stringify(row)}`);
          queries++;
        } catch (err) {
          errors.push(err);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  } finally {
    clearInterval(sampler);
    await sql.end({ timeout: 5 });
  }
  expect(errors).toEqual([]);
  expect(queries).toBeGreaterThan(1000);
  // The endpoint never had to close a connection: each was retired before its age limit.
  expect(local.stats().closedForAge).toBe(0);
  // Replacements happened throughout (8 connections × ~30 s / 2–5 s each)…
  const replacements = openedAt.slice(8);
  expect(replacements.length).toBeGreaterThan(30);
  // …spread over the whole run (every 4 s stretch after the first lifetimes saw some)…
  for (let t = 4000; t + 4000 <= SOAK_MS; t += 4000) {
    expect(replacements.some((u) => u >= t && u < t + 4000)).toBe(true);
  }
  // …and never in a herd: with one shared lifetime, all 8 would reconnect within a few
  // milliseconds; here no 100 ms window sees more than half the pool.
  const crowded = Math.max(...replacements.map((t) => replacements.filter((u) => u >= t && u < t + 100).length));
  expect(crowded).toBeLessThanOrEqual(4);
}, 60_000);

it('new connections get a fresh token once the cached one nears expiry', async () => {
  const sql = dsql({ ...local.connectionOptions(), max: 1, tokenDurationSecs: 2, maxLifetimeSeconds: 1 });
  const failuresBefore = local.stats().authFailures;
  try {
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      await sql`select 1`;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { tokens, connections } = dsqlStats(sql)!;
    expect(connections.opened).toBeGreaterThanOrEqual(3); // one per second of lifetime
    expect(tokens.signings).toBeGreaterThanOrEqual(2); // 2 s tokens, refreshed before expiry
    expect(tokens.signings).toBeLessThan(connections.opened + 1);
    expect(local.stats().authFailures).toEqual(failuresBefore); // never an expired token
  } finally {
    await sql.end({ timeout: 5 });
  }
}, 30_000);
