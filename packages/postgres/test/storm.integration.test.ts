import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { dsql, dsqlStats } from '@dsql/postgres';

// Scenario 3: 200 first queries at once, each needing its own new connection, against
// rate-limited endpoints. How fast connections reach an endpoint's bucket depends on the CPU the
// test gets (the endpoint takes from it after TLS and the token check, in this process), so the
// endpoint that must refuse allows few (10/s: refusals whatever the machine's load), and the one
// a limiter must never overrun (20/s) is paced with a wide margin.
let local: DsqlLocal;
let tight: DsqlLocal;

beforeAll(async () => {
  [local, tight] = await Promise.all([
    startDsqlLocal({ connectRate: { perSecond: 20, burst: 20 } }),
    startDsqlLocal({ connectRate: { perSecond: 10, burst: 10 } }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([local?.stop(), tight?.stop()]);
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

describe('scenario 3: connection storm (200 concurrent first queries, rate-limited endpoints)', () => {
  it('refusals are retried with backoff under the connection: zero application errors', async () => {
    const before = tight.stats();
    // Our own limiter is off, so the endpoint really refuses and the retry path does the work.
    const { errors, sql } = await storm({ ...tight.connectionOptions(), max: 200, connectRateLimit: false, connect_timeout: 60 });
    try {
      expect(errors).toEqual([]);
      await quiescent(sql);
      const refused = tight.stats().rateLimited - before.rateLimited;
      expect(refused).toBeGreaterThan(0);
      const { connections } = dsqlStats(sql)!;
      expect(connections.retried).toBe(refused);
      expect(connections.failed).toBe(0);
      // The endpoint counts a refusal for rate as authenticated too (it checks the token first).
      expect(connections.opened).toBe(tight.stats().authenticated - before.authenticated - refused);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }, 90_000);

  it("with connectRateLimit under the endpoint's, the limiter paces connections and nothing is refused", async () => {
    const before = local.stats();
    // Limiters are shared per endpoint by the process: this endpoint's is created with this rate.
    const { errors, sql } = await storm({
      ...local.connectionOptions(),
      max: 200,
      // Well below the endpoint's 20/s burst 20: the endpoint takes from its bucket only after TLS
      // and the token check, so on a busy machine an admission can lag its grant (~1 s here).
      connectRateLimit: { perSecond: 12, burst: 6 },
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
