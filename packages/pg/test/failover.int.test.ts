import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { randomUUID } from 'node:crypto';
import { startDsqlLocalCluster, type DsqlLocalCluster } from '@dsql/local';
import { CommitOutcomeUnknownError, DSQL_FAILOVER_CHANNELS, isCommitOutcomeUnknownError, type DsqlFailoverMessage } from '@dsql/core';
import { DsqlClient, DsqlPool } from '../src/index.js';

// Health-based failover between the Regional endpoints of a (local) multi-Region cluster: a
// money-transfer workload keeps committing through the other Region while the preferred one is
// isolated, balances stay exact (every acknowledged transfer is in the ledger once, balances
// match the ledger), new connections return to the preferred Region after heal, and no token
// for one Region's host is ever presented to the other (auth-failure counters stay at zero).

const PREFERRED = 'us-east-1';
const OTHER = 'us-east-2';
const WORKERS = 3;
const START_BALANCE = 1000;

let cluster: DsqlLocalCluster;
let admin: DsqlPool;

/** Polls `condition` until it holds; fails naming `what` after `ms`. */
async function until(what: string, condition: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const authenticated = (region: string): number => cluster.stats()[region]!.authenticated;

beforeAll(async () => {
  cluster = await startDsqlLocalCluster({ regions: [PREFERRED, OTHER] });
  admin = new DsqlPool({ ...cluster.endpoint(OTHER).connectionOptions(), max: 1 });
  // One run per isolation mode, told apart by `run` (DSQL caps a transaction at 3,000 modified rows: no DELETE of a big ledger).
  await admin.query('CREATE TABLE accounts (run text, id int, balance int NOT NULL, PRIMARY KEY (run, id))');
  await admin.query('CREATE TABLE transfers (id uuid PRIMARY KEY, run text NOT NULL, from_id int NOT NULL, to_id int NOT NULL, amount int NOT NULL)');
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await cluster?.stop();
});

/** A workload: each worker moves money between its own two accounts (no OCC conflicts between workers). */
function transfers(pool: DsqlPool, run: string) {
  const acknowledged: string[] = [];
  const unknown: string[] = [];
  const errors: unknown[] = [];
  let stopped = false;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; !stopped; i++) {
      const id = randomUUID();
      const [from, to] = i % 2 === 0 ? [2 * w, 2 * w + 1] : [2 * w + 1, 2 * w];
      const amount = 1 + (i % 7);
      try {
        await pool.transaction(async (tx) => {
          await tx.query('UPDATE accounts SET balance = balance - $1 WHERE run = $2 AND id = $3', [amount, run, from]);
          await tx.query('UPDATE accounts SET balance = balance + $1 WHERE run = $2 AND id = $3', [amount, run, to]);
          await tx.query('INSERT INTO transfers (id, run, from_id, to_id, amount) VALUES ($1, $2, $3, $4, $5)', [id, run, from, to, amount]);
        });
        acknowledged.push(id);
      } catch (err) {
        // A COMMIT whose answer was lost may or may not have committed: the ledger says which.
        if (isCommitOutcomeUnknownError(err)) unknown.push(id);
        else errors.push(err);
      }
    }
  };
  const running = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  return {
    acknowledged,
    unknown,
    errors,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

describe.each(['refuse', 'drop', 'blackhole'] as const)("isolating the preferred Region ('%s')", (mode) => {
  it('keeps transfers committing through the other Region, exactly, and fails back after heal', async () => {
    for (let id = 0; id < 2 * WORKERS; id++) await admin.query('INSERT INTO accounts (run, id, balance) VALUES ($1, $2, $3)', [mode, id, START_BALANCE]);

    const events: [string, DsqlFailoverMessage][] = [];
    const listeners = [DSQL_FAILOVER_CHANNELS.failover, DSQL_FAILOVER_CHANNELS.failback].map((name) => {
      const fn = (m: unknown) => events.push([name, m as DsqlFailoverMessage]);
      subscribe(name, fn);
      return () => unsubscribe(name, fn);
    });
    const pool = new DsqlPool({
      endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
      // Health checks every ~300 ms, unanswered after 3 s: a blackholed Region is found within seconds.
      endpointProbe: { baseDelayMs: 100, maxDelayMs: 400, timeoutMs: 3000, intervalMs: 300 },
      // Short lifetimes: after heal, connections on the other Region are replaced soon, by new ones to the preferred.
      maxLifetimeSeconds: [2, 3],
      max: WORKERS,
      connectionTimeoutMillis: 20_000,
    });
    // Connections the isolation closes while idle are reported here (the pool replaces them).
    pool.on('error', () => {});
    const work = transfers(pool, mode);
    try {
      await until('10 transfers through the preferred Region', () => work.acknowledged.length >= 10);
      expect(authenticated(PREFERRED)).toBeGreaterThan(0);

      const otherBefore = authenticated(OTHER);
      cluster.isolate(PREFERRED, { mode });
      const acknowledgedAtIsolation = work.acknowledged.length;
      await until('20 transfers acknowledged after the isolation', () => work.acknowledged.length >= acknowledgedAtIsolation + 20);
      expect(authenticated(OTHER)).toBeGreaterThan(otherBefore);
      expect(events.some(([name, m]) => name === DSQL_FAILOVER_CHANNELS.failover && m.from.region === PREFERRED && m.to.region === OTHER)).toBe(true);

      cluster.heal(PREFERRED);
      const preferredAtHeal = authenticated(PREFERRED);
      await until('the failback event', () => events.some(([name, m]) => name === DSQL_FAILOVER_CHANNELS.failback && m.to.region === PREFERRED));
      await until('new connections to the preferred Region after heal', () => authenticated(PREFERRED) > preferredAtHeal);
      const acknowledgedAtFailback = work.acknowledged.length;
      await until('10 more transfers after failback', () => work.acknowledged.length >= acknowledgedAtFailback + 10);
    } finally {
      await work.stop();
      await pool.end();
      listeners.forEach((off) => off());
      cluster.heal(PREFERRED);
    }

    // Only a COMMIT whose answer was lost may reach the application.
    expect(work.errors).toEqual([]);
    // Every acknowledged transfer is in the ledger exactly once (the primary key forbids twice).
    const { rows: ledger } = await admin.query<{ id: string; from_id: number; to_id: number; amount: number }>('SELECT id, from_id, to_id, amount FROM transfers WHERE run = $1', [mode]);
    const ids = new Set(ledger.map((t) => t.id));
    expect(work.acknowledged.filter((id) => !ids.has(id))).toEqual([]);
    const reported = new Set([...work.acknowledged, ...work.unknown]);
    expect(ledger.filter((t) => !reported.has(t.id))).toEqual([]);
    // Balances are what the ledger says, and money was neither created nor destroyed.
    const expected = new Map<number, number>();
    for (let id = 0; id < 2 * WORKERS; id++) expected.set(id, START_BALANCE);
    for (const t of ledger) {
      expected.set(t.from_id, expected.get(t.from_id)! - t.amount);
      expected.set(t.to_id, expected.get(t.to_id)! + t.amount);
    }
    const { rows: balances } = await admin.query<{ id: number; balance: number }>('SELECT id, balance FROM accounts WHERE run = $1 ORDER BY id', [mode]);
    expect(balances.map((b) => [b.id, b.balance])).toEqual([...expected]);
    expect(balances.reduce((sum, b) => sum + b.balance, 0)).toBe(2 * WORKERS * START_BALANCE);
    // No token signed for one Region's host was presented to the other.
    for (const region of [PREFERRED, OTHER]) expect(cluster.stats()[region]!.authFailures).toEqual({});
  }, 120_000);
});

describe('endpointProbe.drainAfterFailbackMs', () => {
  it('after failback, closes the idle connections on the other Region, and busy ones when released (never mid-use)', async () => {
    const open = (region: string): number => cluster.stats()[region]!.openConnections;
    const otherBaseline = open(OTHER);
    cluster.isolate(PREFERRED, { mode: 'refuse' });
    const pool = new DsqlPool({
      endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
      endpointProbe: { baseDelayMs: 100, maxDelayMs: 400, timeoutMs: 3000, intervalMs: 300, drainAfterFailbackMs: 200 },
      // Lifetimes and idle timeouts far longer than the test: only the option can close these connections.
      maxLifetimeSeconds: [3000, 3300],
      idleTimeoutMillis: 600_000,
      max: 4,
      connectionTimeoutMillis: 20_000,
    });
    const poolErrors: unknown[] = [];
    pool.on('error', (err) => poolErrors.push(err));
    const failedBack: DsqlFailoverMessage[] = [];
    const onFailback = (m: unknown) => failedBack.push(m as DsqlFailoverMessage);
    subscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
    try {
      // Four connections, all to the other Region (the preferred one refuses).
      const clients = await Promise.all(Array.from({ length: 4 }, () => pool.connect()));
      await until('four connections open on the other Region', () => open(OTHER) >= otherBaseline + 4);
      const [busy1, busy2, idle1, idle2] = clients as [typeof clients[0], typeof clients[0], typeof clients[0], typeof clients[0]];
      await busy1.query('BEGIN');
      await busy1.query('SELECT 1');
      idle1.release();
      idle2.release();

      cluster.heal(PREFERRED);
      await until('the failback event', () => failedBack.some((m) => m.to.region === PREFERRED));
      // The two idle ones close; the two checked out stay open and usable.
      await until('the idle connections on the other Region to close', () => open(OTHER) <= otherBaseline + 2);
      expect((await busy1.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
      await busy1.query('COMMIT');
      expect((await busy2.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
      expect(open(OTHER)).toBeGreaterThanOrEqual(otherBaseline + 2);
      busy1.release();
      busy2.release();
      await until('the released connections on the other Region to close', () => open(OTHER) <= otherBaseline);
      // The pool carries on, on the preferred Region; the planned closes were not reported as errors.
      // (The health checks authenticate to the preferred Region too: its count only says something together with the other's.)
      const preferredBefore = authenticated(PREFERRED);
      const fresh = await pool.connect();
      try {
        expect((await fresh.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
        expect(authenticated(PREFERRED)).toBeGreaterThan(preferredBefore);
        expect(open(OTHER)).toBeLessThanOrEqual(otherBaseline);
      } finally {
        fresh.release();
      }
      expect(poolErrors).toEqual([]);
    } finally {
      unsubscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
      await pool.end();
      cluster.heal(PREFERRED);
    }
    for (const region of [PREFERRED, OTHER]) expect(cluster.stats()[region]!.authFailures).toEqual({});
  }, 60_000);
});

describe('a COMMIT lost with endpoints', () => {
  it('stays CommitOutcomeUnknownError: never retried, on either endpoint', async () => {
    const pool = new DsqlPool({ endpoints: cluster.endpoints.map((e) => e.connectionOptions()), max: 2 });
    pool.on('error', () => {});
    try {
      await pool.query('SELECT 1'); // a connection to the preferred endpoint
      cluster.endpoint(PREFERRED).inject({ on: 'commit', drop: true });
      let calls = 0;
      const err = await pool
        .transaction(async (tx) => {
          calls++;
          await tx.query('INSERT INTO accounts (run, id, balance) VALUES ($1, 1, 0)', ['lost-commit']);
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(CommitOutcomeUnknownError);
      expect(calls).toBe(1);
      // The pool carries on (the connection of the lost COMMIT was discarded).
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
    for (const region of [PREFERRED, OTHER]) expect(cluster.stats()[region]!.authFailures).toEqual({});
  }, 60_000);
});

describe("endpointSelection: 'latency'", () => {
  it('sends new connections to the endpoint with the lower measured connect time', async () => {
    // The preferred endpoint is far away: every round trip to it takes 300 ms more.
    cluster.setLatency(PREFERRED, 300);
    const pool = new DsqlPool({ endpoints: cluster.endpoints.map((e) => e.connectionOptions()), endpointSelection: 'latency', max: 6 });
    pool.on('error', () => {});
    const before = { [PREFERRED]: authenticated(PREFERRED), [OTHER]: authenticated(OTHER) };
    const clients = [];
    try {
      // Each endpoint is tried once to be measured (in the order listed), then the nearer one wins.
      for (let i = 0; i < 5; i++) clients.push(await pool.connect());
      expect(authenticated(PREFERRED) - before[PREFERRED]!).toBe(1);
      expect(authenticated(OTHER) - before[OTHER]!).toBe(4);
    } finally {
      clients.forEach((c) => c.release());
      await pool.end();
      cluster.setLatency(PREFERRED, 0);
    }
  }, 60_000);
});

describe('a standalone DsqlClient with endpoints', () => {
  it.each(['refuse', 'drop'] as const)("connects through the other Region when the preferred one is isolated ('%s')", async (mode) => {
    cluster.isolate(PREFERRED, { mode });
    const otherBefore = authenticated(OTHER);
    const client = new DsqlClient({ endpoints: cluster.endpoints.map((e) => e.connectionOptions()), connectionTimeoutMillis: 20_000 });
    client.on('error', () => {});
    try {
      // Its first attempt goes to the preferred endpoint (a new client knows no health yet); the retry to the other.
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(authenticated(OTHER)).toBe(otherBefore + 1);
    } finally {
      await client.end().catch(() => undefined);
      cluster.heal(PREFERRED);
    }
    for (const region of [PREFERRED, OTHER]) expect(cluster.stats()[region]!.authFailures).toEqual({});
  }, 60_000);
});
