import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { startDsqlLocalCluster, type DsqlLocalCluster } from '@dsql/local';
import { DSQL_FAILOVER_CHANNELS, isConnectionLoss, type DsqlEndpointUnhealthyMessage } from '@dsql/core';
import { DsqlPool, type DsqlPoolClient } from '../src/index.js';

// endpointProbe.suspectAfterMs against a local two-Region cluster: a Region blackholed under a
// full pool, every connection busy with a statement, is found by the statements left unanswered
// (the periodic health check is an hour away here, so nothing else could find it): the busy
// statements fail with a connection error, a transaction() retries on the other Region. And the
// control: a slow statement on a healthy endpoint has its endpoint checked, and runs to the end.

const PREFERRED = 'us-east-1';
const OTHER = 'us-east-2';
const SUSPECT_MS = 1000;
/** Generous: a health check of a healthy endpoint on a starved machine must not time out (that would fail the endpoint). */
const TIMEOUT_MS = 5000;
/** Far beyond any test: only a suspicion can have the endpoint checked. */
const NO_PERIODIC_CHECK_MS = 3_600_000;

let cluster: DsqlLocalCluster;
let admin: DsqlPool;

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
const outcome = <T>(promise: Promise<T>): Promise<{ ok: T } | { err: Error }> => promise.then((ok) => ({ ok }), (err: Error) => ({ err }));

/** Regions marked unhealthy (the router's diagnostics event), in order. */
const unhealthy: string[] = [];
const onUnhealthy = (m: unknown): void => void unhealthy.push((m as DsqlEndpointUnhealthyMessage).region);
beforeEach(() => void unhealthy.splice(0));

beforeAll(async () => {
  subscribe(DSQL_FAILOVER_CHANNELS.endpointUnhealthy, onUnhealthy);
  cluster = await startDsqlLocalCluster({ regions: [PREFERRED, OTHER] });
  admin = new DsqlPool({ ...cluster.endpoint(OTHER).connectionOptions(), max: 1 });
  await admin.query('CREATE TABLE suspect_ledger (id int PRIMARY KEY, region_note text)');
}, 120_000);

afterAll(async () => {
  unsubscribe(DSQL_FAILOVER_CHANNELS.endpointUnhealthy, onUnhealthy);
  await admin?.end();
  await cluster?.stop();
});

const poolOptions = (timeoutMs = TIMEOUT_MS) => ({
  endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
  endpointProbe: { baseDelayMs: 200, maxDelayMs: 1000, timeoutMs, intervalMs: NO_PERIODIC_CHECK_MS, suspectAfterMs: SUSPECT_MS },
  connectionTimeoutMillis: 20_000,
});

describe('a Region blackholed under a full pool, every connection busy', () => {
  it('fails the busy statements with a connection error once the suspected endpoint misses its check, and transaction() retries on the other Region', async () => {
    const pool = new DsqlPool({ ...poolOptions(), max: 3 });
    pool.on('error', () => {});
    const held: DsqlPoolClient[] = [];
    try {
      // Fill the pool: three connections to the preferred Region, all checked out.
      for (let i = 0; i < 3; i++) held.push(await pool.connect());
      for (const c of held) expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(cluster.stats()[PREFERRED]!.openConnections).toBeGreaterThanOrEqual(3);
      await held[2]!.query('BEGIN');
      await held[2]!.query('SELECT 1');

      cluster.isolate(PREFERRED, { mode: 'blackhole' });
      // Two plain statements (promise and callback forms) and an open transaction's statement, each on a busy connection.
      const plain = outcome(held[0]!.query('SELECT 2 AS two'));
      const callback = outcome(new Promise((resolve, reject) => held[1]!.query('SELECT 3', (err: Error | undefined, res: unknown) => (err ? reject(err) : resolve(res)))));
      const inTransaction = outcome(held[2]!.query('SELECT 5'));

      const results = await within('the busy statements on the blackholed Region to settle', Promise.all([plain, callback, inTransaction]));
      for (const r of results) {
        expect(r).toHaveProperty('err');
        const err = (r as { err: Error }).err;
        // A connection loss (core's classification), saying the endpoint missed its health check.
        expect(isConnectionLoss(err)).toBe(true);
        expect(err.message).toMatch(/Connection closed by failover: the endpoint .* \(us-east-1\) did not answer its health check/);
      }
      expect([...new Set(unhealthy)]).toEqual([PREFERRED]); // its recovery probes may fail again meanwhile
      for (const c of held.splice(0)) c.release(true);

      // A transaction now runs on the other Region.
      const other = authenticated(OTHER);
      await pool.transaction(async (tx) => {
        await tx.query("INSERT INTO suspect_ledger (id, region_note) VALUES (1, 'after blackhole')");
      });
      expect(authenticated(OTHER)).toBeGreaterThan(other);
    } finally {
      for (const c of held) c.release(true);
      cluster.heal(PREFERRED);
      await pool.end();
    }
    expect((await admin.query('SELECT region_note FROM suspect_ledger WHERE id = 1')).rows).toEqual([{ region_note: 'after blackhole' }]);
  }, 90_000);

  it('retries a transaction() whose statement was in flight (before COMMIT) on the other Region', async () => {
    const pool = new DsqlPool({ ...poolOptions(), max: 1 });
    pool.on('error', () => {});
    try {
      await pool.query('SELECT 1'); // the one connection, to the preferred Region
      const other = authenticated(OTHER);
      let attempts = 0;
      const n = await within('the transaction to commit on the other Region', pool.transaction(async (tx) => {
        // The first attempt's statement goes out on a blackholed link (BEGIN was answered).
        if (++attempts === 1) cluster.isolate(PREFERRED, { mode: 'blackhole' });
        const { rows } = await tx.query<{ n: number }>('SELECT 1 AS n');
        await tx.query("INSERT INTO suspect_ledger (id, region_note) VALUES (2, 'retried')");
        return rows[0]!.n;
      }));
      expect(n).toBe(1);
      expect(attempts).toBe(2);
      expect([...new Set(unhealthy)]).toEqual([PREFERRED]); // its recovery probes may fail again meanwhile
      expect(authenticated(OTHER)).toBeGreaterThan(other); // the retry's connection
    } finally {
      cluster.heal(PREFERRED);
      await pool.end();
    }
    expect((await admin.query('SELECT region_note FROM suspect_ledger WHERE id = 2')).rows).toEqual([{ region_note: 'retried' }]);
  }, 90_000);
});

describe('a slow statement on a healthy endpoint', () => {
  it('has its endpoint checked (and found healthy) but runs to the end', async () => {
    const pool = new DsqlPool({ ...poolOptions(10_000), max: 1 });
    pool.on('error', () => {});
    try {
      await pool.query('SELECT 1'); // the one connection, to the preferred Region
      const before = authenticated(PREFERRED);
      const slow = pool.query<{ tag: string }>("SELECT pg_sleep($1), 'slept' AS tag", [(SUSPECT_MS * 4) / 1000]);
      // The suspicion's probe is a real connection to the preferred Region (the pool's one connection is busy).
      await until('the suspected endpoint to be probed', () => authenticated(PREFERRED) > before);
      expect((await within('the slow statement', slow)).rows[0]!.tag).toBe('slept');
      expect(unhealthy).toEqual([]);
    } finally {
      await pool.end();
    }
  }, 60_000);
});
