import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { startDsqlLocalCluster, type DsqlLocal, type DsqlLocalCluster } from '../src/index.js';
import { connectPg, failure, pgConfig, token } from './helpers.js';

/** Resolves with `promise`, or rejects naming `what` after `ms` (a hang fails fast, saying what it awaited). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `condition` until it holds; fails naming `what` after `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** 'pending' if `promise` has not settled after `ms` (used only where it must never settle). */
async function stillPendingAfter(promise: Promise<unknown>, ms: number): Promise<'pending' | 'settled'> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return settled ? 'settled' : 'pending';
}

/** The first 'error' a client emits (the server or the network ended it). */
function nextError(client: pg.Client): Promise<Error & { code?: string }> {
  return new Promise((resolve) => client.once('error', resolve));
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A connection that the network reset (RST) or cut, as node-postgres reports it. */
const RESET = /ECONNRESET|EPIPE|Connection terminated unexpectedly/;

describe('startDsqlLocalCluster', () => {
  let cluster: DsqlLocalCluster;
  let east1: DsqlLocal;
  let east2: DsqlLocal;
  const clients: pg.Client[] = [];
  /** A client of `endpoint`, ended after the test. */
  async function connect(endpoint: DsqlLocal, extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
    const c = await connectPg(endpoint, 'admin', extra);
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    cluster = await startDsqlLocalCluster({ regions: ['us-east-1', 'us-east-2'] });
    [east1, east2] = cluster.endpoints as [DsqlLocal, DsqlLocal];
    const c = await connect(east1);
    await c.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
  }, 60_000);
  afterEach(async () => {
    cluster.heal('us-east-1');
    cluster.heal('us-east-2');
    cluster.setLatency('us-east-1', 0);
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => {})));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('has one ordinary endpoint per Region: own cluster id, host, port and Region, one CA', () => {
    expect(cluster.endpoints.map((e) => e.region)).toEqual(['us-east-1', 'us-east-2']);
    expect(cluster.endpoint('us-east-2')).toBe(east2);
    expect(east1.clusterId).not.toBe(east2.clusterId);
    expect(east1.host).toBe(`${east1.clusterId}.dsql.us-east-1.on.aws`);
    expect(east2.host).toBe(`${east2.clusterId}.dsql.us-east-2.on.aws`);
    expect(east1.port).not.toBe(east2.port);
    expect(east2.connectionOptions()).toEqual(expect.objectContaining({ host: east2.host, hostaddr: '127.0.0.1', port: east2.port, region: 'us-east-2', user: 'admin' }));
    expect(east1.ca).toBe(east2.ca);
    expect(() => cluster.endpoint('eu-west-1')).toThrow(`endpoint: unknown Region "eu-west-1"; this cluster has 'us-east-1', 'us-east-2'`);
  });

  it('shares its data: a commit through one Region is read through the other', async () => {
    const a = await connect(east1);
    const b = await connect(east2);
    await a.query('DELETE FROM accounts');
    await a.query('INSERT INTO accounts VALUES (1, 100), (2, 200)');
    expect((await b.query('SELECT id, balance FROM accounts ORDER BY id')).rows).toEqual([
      { id: 1, balance: 100 },
      { id: 2, balance: 200 },
    ]);
    await b.query('UPDATE accounts SET balance = 150 WHERE id = 1');
    expect((await a.query('SELECT balance FROM accounts WHERE id = 1')).rows).toEqual([{ balance: 150 }]);
  });

  it('decides conflicts across Regions as one cluster: the first to COMMIT wins, even if it wrote second', async () => {
    const a = await connect(east1);
    const b = await connect(east2);
    await a.query('DELETE FROM accounts');
    await a.query('INSERT INTO accounts VALUES (1, 100)');
    await a.query('BEGIN');
    await a.query('UPDATE accounts SET balance = 1 WHERE id = 1');
    await b.query('BEGIN');
    await b.query('UPDATE accounts SET balance = 2 WHERE id = 1');
    await within(b.query('COMMIT'), 10_000, 'the COMMIT through us-east-2');
    expect(await failure(() => a.query('COMMIT'))).toEqual(expect.objectContaining({ code: '40001', message: 'change conflicts with another transaction (OC000)' }));
    expect((await a.query('SELECT balance FROM accounts WHERE id = 1')).rows).toEqual([{ balance: 2 }]);
  });

  it('verifies tokens for its own host and Region only: a token for the other peer is refused and counted', async () => {
    const before1 = cluster.stats()['us-east-1']!.authFailures;
    const failures2 = (): number => Object.values(cluster.stats()['us-east-2']!.authFailures).reduce((n, v) => n + (v ?? 0), 0);
    const before2 = failures2();
    // A token signed for us-east-1's endpoint, presented to us-east-2 (naming us-east-2's host).
    const east1Token = await token(east1);
    const refused = await failure(() => new pg.Client(pgConfig(east2, east1Token)).connect());
    expect(refused).toEqual(expect.objectContaining({ code: '08006', message: 'unable to accept connection, access denied' }));
    // … and naming us-east-1's host to us-east-2 does not help.
    const refusedBySni = await failure(() => new pg.Client(pgConfig(east2, east1Token, { ssl: { ca: east2.ca, servername: east1.host } })).connect());
    expect(refusedBySni).toEqual(expect.objectContaining({ code: '08006', message: 'unable to accept connection, access denied' }));
    expect(failures2()).toBe(before2 + 2);
    expect(cluster.stats()['us-east-1']!.authFailures).toEqual(before1);
    // Its own token is fine.
    expect((await (await connect(east2)).query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it("'refuse': open connections are closed and new ones refused with DSQL's unavailable error; the other Region serves; heal restores", async () => {
    const open = await connect(east1);
    // Sessions of earlier tests close asynchronously: count from when only this one is open.
    await until(() => east1.stats().openConnections === 1, 10_000, 'earlier sessions of us-east-1 to close');
    const before = east1.stats().unavailable;
    const ended = nextError(open);
    cluster.isolate('us-east-1', { mode: 'refuse' });
    expect(await within(ended, 10_000, 'the open connection to be closed')).toEqual(expect.objectContaining({ code: 'XX000', message: 'server unavailable', severity: 'FATAL' }));
    const refused = await failure(() => new pg.Client(pgConfig(east1, 'token not needed')).connect());
    expect(refused).toEqual(expect.objectContaining({ code: 'XX000', message: 'server unavailable', severity: 'FATAL' }));
    expect(cluster.stats()['us-east-1']).toEqual(expect.objectContaining({ isolation: 'refuse', unavailable: before + 2 }));
    expect((await (await connect(east2)).query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    cluster.heal('us-east-1');
    expect(cluster.stats()['us-east-1']!.isolation).toBeNull();
    expect((await (await connect(east1)).query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it("'refuse': a connection with a statement under way is closed without an answer (its outcome is unknown, so no error says it did not run)", async () => {
    const busy = await connect(east1);
    const queriesBefore = east1.stats().queries;
    const running = failure(() => busy.query('SELECT pg_sleep(10)'));
    await until(() => east1.stats().queries > queriesBefore, 10_000, 'the proxy to forward the statement');
    cluster.isolate('us-east-1', { mode: 'refuse' });
    const err = await within(running, 10_000, 'the busy connection to be closed');
    expect(err.code).toBeUndefined();
    expect(err.message).toMatch(/Connection terminated unexpectedly/);
  });

  it("'drop': every open connection is reset, and each new one; heal restores", async () => {
    const open = await connect(east1);
    const before = cluster.stats()['us-east-1']!.connectionsReset;
    const ended = nextError(open);
    cluster.isolate('us-east-1', { mode: 'drop' });
    expect((await within(ended, 10_000, 'the open connection to be reset')).message).toMatch(RESET);
    const refused = await failure(() => connectPg(east1));
    expect(`${refused.code} ${refused.message}`).toMatch(RESET);
    expect(cluster.stats()['us-east-1']!.isolation).toBe('drop');
    // The open one and the new one (connections of earlier tests may still be closing: at least).
    expect(cluster.stats()['us-east-1']!.connectionsReset).toBeGreaterThanOrEqual(before + 2);
    expect((await (await connect(east2)).query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    cluster.heal('us-east-1');
    expect((await (await connect(east1)).query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it("'blackhole': connections are held and never answered, open ones included, until heal", async () => {
    const open = await connect(east1);
    cluster.isolate('us-east-1', { mode: 'blackhole' });
    const held = open.query('SELECT 42 AS answer');
    // Never answered: whatever the wait, the query is still pending (a bounded wait, not a timing).
    expect(await stillPendingAfter(held, 300)).toBe('pending');
    // A new connection is accepted (TCP) but never answered: only the client's timeout ends it.
    const timedOut = await failure(() => connectPg(east1, 'admin', { connectionTimeoutMillis: 300 }));
    expect(timedOut.message).toMatch(/timeout/i);
    expect(cluster.stats()['us-east-1']).toEqual(expect.objectContaining({ isolation: 'blackhole' }));
    expect(cluster.stats()['us-east-1']!.connectionsHeld).toBeGreaterThanOrEqual(1);
    expect((await (await connect(east2)).query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    // As when a partition heals, what was held goes through.
    cluster.heal('us-east-1');
    expect((await within(held, 10_000, 'the held query to be answered after heal')).rows).toEqual([{ answer: 42 }]);
    expect((await (await connect(east1)).query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('isolating again replaces the mode without healing in between: a blackhole turned drop resets what it held', async () => {
    const open = await connect(east1);
    cluster.isolate('us-east-1', { mode: 'blackhole' });
    const held = failure(() => open.query('SELECT 1'));
    expect(await stillPendingAfter(held, 100)).toBe('pending');
    cluster.isolate('us-east-1', { mode: 'drop' });
    expect((await within(held, 10_000, 'the held query to fail')).message).toMatch(RESET);
    expect(cluster.stats()['us-east-1']!.isolation).toBe('drop');
  });

  it('setLatency adds at least that delay to every round trip, open connections included', async () => {
    const open = await connect(east1);
    cluster.setLatency('us-east-1', 150);
    expect(cluster.stats()['us-east-1']!.latencyMs).toBe(150);
    const started = performance.now();
    await open.query('SELECT 1');
    await open.query('SELECT 2');
    // A lower bound only: two round trips, each delayed by at least 150 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    // New connections too: the TLS handshake and startup take several round trips.
    const connecting = performance.now();
    await connect(east1);
    expect(performance.now() - connecting).toBeGreaterThanOrEqual(300);
  });

  it('rejects bad arguments naming the argument, the value and what is accepted', async () => {
    expect(() => cluster.isolate('us-east-1', { mode: 'partition' as never })).toThrow(`isolate: 'mode' must be 'refuse', 'drop' or 'blackhole' (got "partition")`);
    expect(() => cluster.isolate('mars-1', { mode: 'drop' })).toThrow(`isolate: unknown Region "mars-1"`);
    expect(() => cluster.setLatency('us-east-1', -5)).toThrow(`setLatency: 'ms' must be a non-negative number of milliseconds (got -5)`);
    expect(() => cluster.heal('nowhere')).toThrow(`heal: unknown Region "nowhere"`);
    await expect(startDsqlLocalCluster({ regions: ['us-east-1'] })).rejects.toThrow(`'regions' must list at least two different Regions`);
    await expect(startDsqlLocalCluster({ regions: ['us-east-1', 'us-east-1'] })).rejects.toThrow(`'regions' must list at least two different Regions`);
    await expect(startDsqlLocalCluster({ regions: ['us-east-1', 'us-east-2'], port: 5432 } as never)).rejects.toThrow(`'port' is chosen per endpoint`);
    await expect(startDsqlLocalCluster({ regions: ['us-east-1', 'nowhere'] })).rejects.toThrow(`'region' must look like 'us-east-1' (got "nowhere")`);
  });
});

describe('startDsqlLocalCluster stop()', () => {
  it('stops every endpoint and the one PostgreSQL under them, files included (idempotently), even when isolated', async () => {
    const cluster = await startDsqlLocalCluster({ regions: ['eu-west-1', 'eu-central-1'], connectRate: false });
    const [a, b] = cluster.endpoints as [DsqlLocal, DsqlLocal];
    const client = await connectPg(a);
    const dataDir = (await client.query('SHOW data_directory')).rows[0].data_directory as string;
    const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    await connectPg(b);
    cluster.isolate('eu-central-1', { mode: 'blackhole' });
    const ended = new Promise<void>((r) => client.once('end', () => r()));
    await Promise.all([cluster.stop(), cluster.stop()]);
    await within(ended, 10_000, 'the open client to see its connection end');
    expect(existsSync(dataDir)).toBe(false);
    expect(() => process.kill(postmaster, 0)).toThrow();
    expect(await portOpen(a.port)).toBe(false);
    expect(await portOpen(b.port)).toBe(false);
    await cluster.stop();
  });

  it("stopping one endpoint leaves the database to the others; the cluster's stop() still stops everything", async () => {
    const cluster = await startDsqlLocalCluster({ regions: ['ap-south-1', 'ap-south-2'] });
    try {
      const [a, b] = cluster.endpoints as [DsqlLocal, DsqlLocal];
      await a.stop();
      expect(await portOpen(a.port)).toBe(false);
      const client = await connectPg(b);
      try {
        expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await client.end();
      }
    } finally {
      await cluster.stop();
    }
  });
});
