import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { startDsqlLocalCluster, type DsqlLocalCluster } from '@dsql/local';
import { DSQL_FAILOVER_CHANNELS, isConnectionLoss, type DsqlEndpointUnhealthyMessage } from '@dsql/core';
import { dsql, transaction } from '@dsql/postgres';

// endpointProbe.suspectAfterMs with Postgres.js against a local two-Region cluster: a Region
// blackholed while every connection of `sql` runs a statement is found by the statements left
// unanswered (read from the wire by the socket dsql() owns; the periodic health check is an hour
// away here, so nothing else could find it): the statements fail with a connection error, and
// transaction() retries on the other Region. The control: a slow statement on a healthy endpoint
// has its endpoint checked, and runs to the end.

const PREFERRED = 'us-east-1';
const OTHER = 'us-east-2';
/** Far beyond any test: only a suspicion can have the endpoint checked. */
const NO_PERIODIC_CHECK_MS = 3_600_000;

let cluster: DsqlLocalCluster;
let admin: ReturnType<typeof dsql>;

const authenticated = (region: string): number => cluster.stats()[region]!.authenticated;

/** Polls `condition` until it holds; fails naming `what` after `ms`. */
async function until(what: string, condition: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `promise`, or a failure naming `what` after `ms` (a hang fails fast, saying what it waited for). */
async function within<T>(what: string, promise: Promise<T>, ms = 30_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Settles `promise` to its value or its error, so outcomes can be compared. */
const outcome = <T>(promise: PromiseLike<T>): Promise<{ ok: T } | { err: Error }> => Promise.resolve(promise).then((ok) => ({ ok }), (err: Error) => ({ err }));

/** Regions marked unhealthy (the router's diagnostics event), in order. */
const unhealthy: string[] = [];
const onUnhealthy = (m: unknown): void => void unhealthy.push((m as DsqlEndpointUnhealthyMessage).region);
beforeEach(() => void unhealthy.splice(0));

beforeAll(async () => {
  subscribe(DSQL_FAILOVER_CHANNELS.endpointUnhealthy, onUnhealthy);
  cluster = await startDsqlLocalCluster({ regions: [PREFERRED, OTHER] });
  admin = dsql({ ...cluster.endpoint(OTHER).connectionOptions(), max: 1 });
  await admin`CREATE TABLE suspect_ledger (id int PRIMARY KEY, note text)`;
}, 120_000);

afterAll(async () => {
  unsubscribe(DSQL_FAILOVER_CHANNELS.endpointUnhealthy, onUnhealthy);
  await admin?.end({ timeout: 1 });
  await cluster?.stop();
});

/** Generous: a health check of a healthy endpoint on a starved machine must not time out (that would fail the endpoint). */
const sqlOptions = (max: number, timeoutMs = 5000) => ({
  endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
  endpointProbe: { baseDelayMs: 200, maxDelayMs: 1000, timeoutMs, intervalMs: NO_PERIODIC_CHECK_MS, suspectAfterMs: 1000 },
  max,
  connect_timeout: 20,
});

describe('Postgres.js on a Region blackholed while every connection is busy', () => {
  it('fails the statements in flight with a connection error once the suspected endpoint misses its check', async () => {
    const sql = dsql(sqlOptions(3));
    try {
      // Three connections to the preferred Region (three statements at once open three).
      await Promise.all([sql`SELECT pg_sleep(0.2)`, sql`SELECT pg_sleep(0.2)`, sql`SELECT pg_sleep(0.2)`]);
      expect(cluster.stats()[PREFERRED]!.openConnections).toBeGreaterThanOrEqual(3);
      cluster.isolate(PREFERRED, { mode: 'blackhole' });
      const results = await within('the statements on the blackholed Region to settle', Promise.all([outcome(sql`SELECT 1`), outcome(sql`SELECT 2`), outcome(sql`SELECT 3`)]));
      for (const r of results) {
        expect(r).toHaveProperty('err');
        // Postgres.js reports the closed socket as its own CONNECTION_CLOSED, naming the host: a connection loss to core.
        const err = (r as { err: Error }).err;
        expect(isConnectionLoss(err)).toBe(true);
        expect(err.message).toContain(cluster.endpoint(PREFERRED).host);
      }
      expect([...new Set(unhealthy)]).toEqual([PREFERRED]); // its recovery probes may fail again meanwhile
      // The next statements go to the other Region.
      const other = authenticated(OTHER);
      expect(await within('a statement on the other Region', Promise.resolve(sql`SELECT 4 AS four`))).toEqual([{ four: 4 }]);
      expect(authenticated(OTHER)).toBeGreaterThan(other);
    } finally {
      cluster.heal(PREFERRED);
      await sql.end({ timeout: 1 });
    }
  }, 90_000);

  it('retries a transaction() whose statement was in flight (before COMMIT) on the other Region', async () => {
    const sql = dsql(sqlOptions(1));
    try {
      await sql`SELECT 1`; // the one connection, to the preferred Region
      const other = authenticated(OTHER);
      let attempts = 0;
      await within(
        'the transaction to commit on the other Region',
        transaction(sql, async (tx) => {
          // The first attempt's statement goes out on a blackholed link (its BEGIN was answered).
          if (++attempts === 1) cluster.isolate(PREFERRED, { mode: 'blackhole' });
          await tx`INSERT INTO suspect_ledger (id, note) VALUES (1, 'retried')`;
        }),
      );
      expect(attempts).toBe(2);
      expect([...new Set(unhealthy)]).toEqual([PREFERRED]); // its recovery probes may fail again meanwhile
      expect(authenticated(OTHER)).toBeGreaterThan(other);
    } finally {
      cluster.heal(PREFERRED);
      await sql.end({ timeout: 1 });
    }
    expect(await admin`SELECT note FROM suspect_ledger WHERE id = 1`).toEqual([{ note: 'retried' }]);
  }, 90_000);
});

describe('Postgres.js: a slow statement on a healthy endpoint', () => {
  it('has its endpoint checked (and found healthy) but runs to the end', async () => {
    const sql = dsql(sqlOptions(1, 10_000));
    try {
      await sql`SELECT 1`; // the one connection, to the preferred Region
      const before = authenticated(PREFERRED);
      const slow = outcome(sql`SELECT pg_sleep(4), 'slept' AS tag`);
      // The suspicion's probe is a real session on the preferred Region (the one connection is busy).
      await until('the suspected endpoint to be probed', () => authenticated(PREFERRED) > before);
      const result = await within('the slow statement', slow);
      expect(result).toHaveProperty('ok');
      expect((result as { ok: unknown[] }).ok[0]).toMatchObject({ tag: 'slept' });
      expect(unhealthy).toEqual([]);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 60_000);
});
