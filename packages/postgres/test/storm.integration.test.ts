import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { dsql, dsqlStats } from '@dsql/postgres';

// Scenario 3: 200 first queries at once, each needing its own new connection, against an
// endpoint that accepts 20 new connections per second with a burst of 20.
let local: DsqlLocal;

beforeAll(async () => {
  local = await startDsqlLocal({ connectRate: { perSecond: 20, burst: 20 } });
}, 60_000);

afterAll(async () => {
  await local?.stop();
});

async function storm(options: Parameters<typeof dsql>[0]): Promise<{ errors: unknown[]; sql: ReturnType<typeof dsql> }> {
  const sql = dsql(options);
  const errors: unknown[] = [];
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      sql`select ${i}::int as i, pg_sleep(0.05)`.then(
        (rows) => rows[0]!.i as number,
        (err: unknown) => {
          errors.push(err);
          return -1;
        },
      ),
    ),
  );
  if (errors.length === 0) expect(results).toEqual(Array.from({ length: 200 }, (_, i) => i));
  return { errors, sql };
}

/**
 * Waits until no connection attempt of `sql` is in flight. Postgres.js 4 pipelines queries on the
 * connections already open, so all 200 can be answered while connections are still being opened
 * (and refused, and retried): counts compared before that would race with those attempts.
 */
async function quiescent(sql: ReturnType<typeof dsql>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = dsqlStats(sql)!.connections;
    if (c.attempts === c.opened + c.retried + c.failed) return;
    if (Date.now() > deadline) throw new Error(`connection attempts still in flight: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('scenario 3: connection storm (200 concurrent first queries, endpoint at 20/s burst 20)', () => {
  it('refusals are retried with backoff under the connection: zero application errors', async () => {
    const before = local.stats();
    // Our own limiter is off, so the endpoint really refuses and the retry path does the work.
    const { errors, sql } = await storm({ ...local.connectionOptions(), max: 200, connectRateLimit: false, connect_timeout: 60 });
    try {
      expect(errors).toEqual([]);
      await quiescent(sql);
      const refused = local.stats().rateLimited - before.rateLimited;
      expect(refused).toBeGreaterThan(0);
      const { connections } = dsqlStats(sql)!;
      expect(connections.retried).toBe(refused);
      expect(connections.failed).toBe(0);
      // The endpoint counts a refusal for rate as authenticated too (it checks the token first).
      expect(connections.opened).toBe(local.stats().authenticated - before.authenticated - refused);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }, 90_000);

  it("with connectRateLimit just under the endpoint's, the limiter paces connections and nothing is refused", async () => {
    await new Promise((r) => setTimeout(r, 1100)); // let the endpoint's bucket refill
    const before = local.stats();
    // Limiters are shared per endpoint by the process; the first test used none, so this
    // one creates the endpoint's limiter with this rate.
    const { errors, sql } = await storm({
      ...local.connectionOptions(),
      max: 200,
      // Below the endpoint's 20/s: the endpoint takes from its bucket only after checking the token,
      // so on a busy machine admissions arrive a little bunched compared with the limiter's pace.
      connectRateLimit: { perSecond: 16, burst: 16 },
      connect_timeout: 60,
    });
    try {
      expect(errors).toEqual([]);
      await quiescent(sql);
      expect(local.stats().rateLimited - before.rateLimited).toBe(0);
      const { connections, rateLimiter } = dsqlStats(sql)!;
      expect(connections.retried).toBe(0);
      expect(rateLimiter!.delayed).toBeGreaterThan(0);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }, 90_000);
});
