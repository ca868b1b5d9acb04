import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { randomUUID } from 'node:crypto';
import { startDsqlLocalCluster, type DsqlLocalCluster } from '@dsql/local';
import {
  DSQL_CHANNELS,
  DSQL_FAILOVER_CHANNELS,
  isCommitOutcomeUnknownError,
  type DsqlConnectEndMessage,
  type DsqlConnectionClosedMessage,
  type DsqlFailoverMessage,
} from '@dsql/core';
import { dsql, transaction } from '@dsql/postgres';
import postgres from 'postgres';

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
let admin: ReturnType<typeof dsql>;

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
  admin = dsql({ ...cluster.endpoint(OTHER).connectionOptions(), max: 1 });
  // One run per isolation mode, told apart by `run` (DSQL caps a transaction at 3,000 modified rows: no DELETE of a big ledger).
  await admin`CREATE TABLE accounts (run text, id int, balance int NOT NULL, PRIMARY KEY (run, id))`;
  await admin`CREATE TABLE transfers (id uuid PRIMARY KEY, run text NOT NULL, from_id int NOT NULL, to_id int NOT NULL, amount int NOT NULL)`;
}, 120_000);

afterAll(async () => {
  await admin?.end({ timeout: 1 });
  await cluster?.stop();
});

/** A workload: each worker moves money between its own two accounts (no OCC conflicts between workers). */
function transfers(sql: ReturnType<typeof dsql>, run: string) {
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
        await transaction(sql, async (tx) => {
          await tx`UPDATE accounts SET balance = balance - ${amount} WHERE run = ${run} AND id = ${from}`;
          await tx`UPDATE accounts SET balance = balance + ${amount} WHERE run = ${run} AND id = ${to}`;
          await tx`INSERT INTO transfers (id, run, from_id, to_id, amount) VALUES (${id}, ${run}, ${from}, ${to}, ${amount})`;
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
    for (let id = 0; id < 2 * WORKERS; id++) await admin`INSERT INTO accounts (run, id, balance) VALUES (${mode}, ${id}, ${START_BALANCE})`;

    const events: [string, DsqlFailoverMessage][] = [];
    const listeners = [DSQL_FAILOVER_CHANNELS.failover, DSQL_FAILOVER_CHANNELS.failback].map((name) => {
      const fn = (m: unknown) => events.push([name, m as DsqlFailoverMessage]);
      subscribe(name, fn);
      return () => unsubscribe(name, fn);
    });
    const sql = dsql({
      endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
      // Health checks every ~300 ms, unanswered after 3 s: a blackholed Region is found within seconds.
      endpointProbe: { baseDelayMs: 100, maxDelayMs: 400, timeoutMs: 3000, intervalMs: 300 },
      // Short lifetimes: after heal, connections on the other Region are replaced soon, by new ones to the preferred.
      maxLifetimeSeconds: [2, 3],
      max: WORKERS,
      connect_timeout: 20,
    });
    const work = transfers(sql, mode);
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
      await sql.end({ timeout: 1 });
      listeners.forEach((off) => off());
      cluster.heal(PREFERRED);
    }

    // Only a COMMIT whose answer was lost may reach the application.
    expect(work.errors).toEqual([]);
    // Every acknowledged transfer is in the ledger exactly once (the primary key forbids twice).
    const ledger = await admin<{ id: string; from_id: number; to_id: number; amount: number }[]>`SELECT id, from_id, to_id, amount FROM transfers WHERE run = ${mode}`;
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
    const balances = await admin<{ id: number; balance: number }[]>`SELECT id, balance FROM accounts WHERE run = ${mode} ORDER BY id`;
    expect(balances.map((b) => [b.id, b.balance])).toEqual([...expected]);
    expect(balances.reduce((sum, b) => sum + b.balance, 0)).toBe(2 * WORKERS * START_BALANCE);
    // No token signed for one Region's host was presented to the other.
    for (const region of [PREFERRED, OTHER]) expect(cluster.stats()[region]!.authFailures).toEqual({});
  }, 120_000);
});

describe('endpointProbe.drainAfterFailbackMs', () => {
  it('after failback, closes the idle connections on the other Region at once, and busy ones when their query or transaction ends (never mid-use)', async () => {
    // This sql's own connections by Region, from core's diagnostics (the cluster's counters also
    // hold other clients' sessions and the health checks').
    const regionOf = new Map<number, string>();
    const opened: { region: string; at: number }[] = [];
    const onConnectEnd = (m: unknown) => {
      const e = m as DsqlConnectEndMessage;
      if (e.outcome !== 'ok' || e.connectionId === undefined) return;
      regionOf.set(e.connectionId, e.region);
      opened.push({ region: e.region, at: performance.now() });
    };
    const onClosed = (m: unknown) => regionOf.delete((m as DsqlConnectionClosedMessage).connectionId);
    const openOn = (region: string) => [...regionOf.values()].filter((r) => r === region).length;
    const failedBack: number[] = [];
    const onFailback = (m: unknown) => (m as DsqlFailoverMessage).to.region === PREFERRED && failedBack.push(performance.now());
    subscribe(DSQL_CHANNELS.connectEnd, onConnectEnd);
    subscribe(DSQL_CHANNELS.connectionClosed, onClosed);
    subscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
    cluster.isolate(PREFERRED, { mode: 'refuse' });
    const sql = dsql({
      endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
      endpointProbe: { baseDelayMs: 100, maxDelayMs: 400, timeoutMs: 3000, intervalMs: 300, drainAfterFailbackMs: 200 },
      // Lifetimes and idle timeouts far longer than the test: only the option can close these connections.
      maxLifetimeSeconds: [3000, 3300],
      idle_timeout: 0,
      max: 4,
      connect_timeout: 20,
    });
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let inTransaction!: () => void;
    const transactionStarted = new Promise<void>((resolve) => (inTransaction = resolve));
    let inCursor!: () => void;
    const cursorStarted = new Promise<void>((resolve) => (inCursor = resolve));
    try {
      // Busy through the failback: a transaction, and a query whose rows are being read (a cursor).
      const held = sql.begin(async (tx) => {
        await tx`SELECT 1`;
        inTransaction();
        await gate;
        return (await tx`SELECT 2 AS two`)[0]!.two as number;
      });
      const read = (async () => {
        const batches: number[][] = [];
        for await (const rows of sql`SELECT g FROM generate_series(1, 6) g`.cursor(2)) {
          batches.push(rows.map((r) => r.g as number));
          inCursor();
          await gate;
        }
        return batches;
      })();
      await Promise.all([transactionStarted, cursorStarted]);
      // More connections, idle once these queries are answered.
      await Promise.all([sql`SELECT pg_sleep(0.3)`, sql`SELECT pg_sleep(0.3)`]);
      await until('three connections or more on the other Region', () => openOn(OTHER) >= 3);
      expect(openOn(PREFERRED)).toBe(0);

      cluster.heal(PREFERRED);
      await until('the failback event', () => failedBack.length > 0);
      // The idle ones close; the transaction's and the cursor's stay open and usable.
      await until('the idle connections on the other Region to close', () => openOn(OTHER) <= 2);
      expect(openOn(OTHER)).toBe(2);
      openGate();
      expect(await held).toBe(2);
      expect(await read).toEqual([[1, 2], [3, 4], [5, 6]]);
      await until('the connections that were busy to close too', () => openOn(OTHER) === 0);
      // The sql carries on, on the preferred Region.
      const failedBackAt = failedBack[0]!;
      expect(await sql`SELECT 1 AS one`).toEqual([{ one: 1 }]);
      expect(opened.some((o) => o.region === PREFERRED && o.at > failedBackAt)).toBe(true);
      expect(openOn(OTHER)).toBe(0);
    } finally {
      openGate();
      unsubscribe(DSQL_CHANNELS.connectEnd, onConnectEnd);
      unsubscribe(DSQL_CHANNELS.connectionClosed, onClosed);
      unsubscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
      await sql.end({ timeout: 1 });
      cluster.heal(PREFERRED);
    }
    for (const region of [PREFERRED, OTHER]) expect(cluster.stats()[region]!.authFailures).toEqual({});
  }, 60_000);
});

describe('query.cancel() after failback', () => {
  it("goes to the endpoint of the query's connection, not to the one new connections go to", async () => {
    const accepted = (region: string) => cluster.stats()[region]!.connectionsAccepted;
    // Plain Postgres.js straight to the shared PostgreSQL, to see when the query runs.
    const upstream = postgres(cluster.endpoint(PREFERRED).upstreamUrl, { max: 1, onnotice: () => {} });
    const failedBack: DsqlFailoverMessage[] = [];
    const onFailback = (m: unknown) => failedBack.push(m as DsqlFailoverMessage);
    subscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
    cluster.isolate(PREFERRED, { mode: 'refuse' });
    const sql = dsql({
      endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
      // No periodic health check during the test (the first comes after ≥ 7.5 min): after the
      // failback probe, only the cancel opens connections.
      endpointProbe: { baseDelayMs: 100, maxDelayMs: 400, timeoutMs: 3000, intervalMs: 600_000 },
      maxLifetimeSeconds: [3000, 3300],
      idle_timeout: 0,
      max: 1,
      connect_timeout: 20,
    });
    try {
      expect(await sql`SELECT 1 AS one`).toEqual([{ one: 1 }]); // its one connection: on the other Region
      cluster.heal(PREFERRED);
      await until('the failback event', () => failedBack.some((m) => m.to.region === PREFERRED));
      const before = { [PREFERRED]: accepted(PREFERRED), [OTHER]: accepted(OTHER) };
      const query = sql`SELECT pg_sleep(30), 'dsql-cancel-after-failback' AS tag`;
      const outcome = query.then(
        () => 'completed',
        (e: unknown) => e,
      );
      await until('the query to run upstream', async () => (await upstream`SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%dsql-cancel-after-failback%' AND pid <> pg_backend_pid()`).length > 0);
      await query.cancel();
      expect(((await outcome) as { code?: string }).code).toBe('57014');
      // The cancel's connection went to the other Region, where the query's connection is.
      expect({ [PREFERRED]: accepted(PREFERRED) - before[PREFERRED]!, [OTHER]: accepted(OTHER) - before[OTHER]! }).toEqual({ [PREFERRED]: 0, [OTHER]: 1 });
    } finally {
      unsubscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
      await sql.end({ timeout: 1 });
      await upstream.end({ timeout: 1 });
      cluster.heal(PREFERRED);
    }
  }, 60_000);
});
