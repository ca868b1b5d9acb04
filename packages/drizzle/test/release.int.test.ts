/**
 * Every client a Drizzle transaction checks out of the pool goes back exactly once, whatever
 * fault hits it, and a client whose connection broke or whose transaction state is unknown is
 * closed rather than returned. Faults are injected by @dsql/local on a real wire; after each
 * transaction settles the pool must hold no checked-out client, serve the next query, and
 * `end()` promptly. (bench/README.md, "Known issues" 5: after a 60 s chaos run the DsqlPool
 * behind drizzle() could not end — a BEGIN that failed left its client checked out.)
 */
import { jest } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { TokenProvider } from '@dsql/core';
import { DsqlPool } from '@dsql/pg';
import { drizzle, transaction } from '@dsql/drizzle';
import { migrate } from '@dsql/drizzle/migrator';
import { adminQuery, startDsqlLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(30_000);

let local: DsqlLocal;

beforeAll(async () => {
  local = await startDsqlLocal();
  await adminQuery(local, 'DROP TABLE IF EXISTS release_t; CREATE TABLE release_t (id int PRIMARY KEY, n int NOT NULL); INSERT INTO release_t VALUES (1, 0), (2, 0)');
});

afterAll(async () => {
  await local?.stop();
});

type Fault = Parameters<DsqlLocal['inject']>[0];

const XX000 = { code: 'XX000', message: 'server unavailable' };
const OCC = { code: '40001', message: 'change conflicts with another transaction (OC000)' };

interface Case {
  /** Faults armed before the transaction (each hits once). */
  faults: Fault[];
  /** What the transaction settles to, without retry and with it. */
  once: string;
  retried: string;
  /** Whether the faulted connection is closed (true) or returned to the pool (false). */
  closed: boolean;
}

const CONNECTION_LOST = 'rejected: connection lost';

const cases: Array<[string, Case]> = [
  ['BEGIN dropped', { faults: [{ on: 'query', match: /^begin/i, drop: true }], once: CONNECTION_LOST, retried: 'resolved', closed: true }],
  ['BEGIN answered XX000', { faults: [{ on: 'query', match: /^begin/i, error: XX000 }], once: 'rejected: XX000', retried: 'resolved', closed: false }],
  ['a statement dropped', { faults: [{ on: 'query', match: 'UPDATE release_t', drop: true }], once: CONNECTION_LOST, retried: 'resolved', closed: true }],
  ['a statement answered XX000', { faults: [{ on: 'query', match: 'UPDATE release_t', error: XX000 }], once: 'rejected: XX000', retried: 'resolved', closed: false }],
  ['COMMIT dropped', { faults: [{ on: 'commit', drop: true }], once: 'rejected: CommitOutcomeUnknownError', retried: 'rejected: CommitOutcomeUnknownError', closed: true }],
  ['COMMIT answered 40001', { faults: [{ on: 'commit', error: OCC }], once: 'rejected: 40001', retried: 'resolved', closed: false }],
  [
    'a statement answered XX000, then ROLLBACK dropped',
    { faults: [{ on: 'query', match: 'UPDATE release_t', error: XX000 }, { on: 'query', match: /^rollback/i, drop: true }], once: 'rejected: XX000', retried: 'resolved', closed: true },
  ],
];

/** Settles within `ms`, or says it did not. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([promise.then(() => true, () => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return settled;
}

/** The pool's clients that are checked out (held by someone) right now. */
const checkedOut = (pool: pg.Pool): number => pool.totalCount - pool.idleCount;

/** A short name for how a call settled: the SQLSTATE, a connection loss, or the error's name. */
function describe_(err: unknown): string {
  let node = err as { code?: unknown; cause?: unknown; name?: unknown; message?: unknown } | undefined;
  for (let depth = 0; node && depth < 8; depth++) {
    if (typeof node.code === 'string' && /^[0-9A-Z]{5}$/.test(node.code)) return `rejected: ${node.code}`;
    if (typeof node.message === 'string' && /Connection terminated|not queryable|ECONNRESET/.test(node.message)) return CONNECTION_LOST;
    if (node.name === 'CommitOutcomeUnknownError') return 'rejected: CommitOutcomeUnknownError';
    node = node.cause as typeof node;
  }
  return `rejected: ${String((err as Error)?.name)}: ${String((err as Error)?.message)}`;
}

type Db = ReturnType<typeof drizzle<Record<string, never>, pg.Pool>>;
type Work = (tx: { execute: (q: ReturnType<typeof sql>) => Promise<unknown> }) => Promise<void>;

const apis: Array<[string, boolean, (db: Db, work: Work) => Promise<unknown>]> = [
  ['db.transaction (no retry)', false, (db, work) => db.transaction(work)],
  ['transaction(db, fn) (OCC retry)', true, (db, work) => transaction(db, work, { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 })],
];

const pools: Array<[string, () => pg.Pool]> = [
  ['DsqlPool', () => new DsqlPool({ ...local.connectionOptions(), max: 2, connectionTimeoutMillis: 5_000 })],
  [
    'a plain pg.Pool',
    () => {
      const o = local.connectionOptions();
      const tokens = TokenProvider.shared({ host: o.host, region: o.region, user: o.user, credentials: o.credentials });
      return new pg.Pool({
        host: o.hostaddr,
        port: o.port,
        user: o.user,
        database: o.database,
        password: () => tokens.getToken(),
        ssl: { ca: o.ssl.ca, servername: o.host },
        max: 2,
        connectionTimeoutMillis: 5_000,
      });
    },
  ],
];

/** Runs `body` on a drizzle() database over a fresh pool; reports the pool's state afterwards. */
async function onPool(makePool: () => pg.Pool, body: (db: Db) => Promise<string>) {
  const pool = makePool();
  pool.on('error', () => undefined); // a lost idle connection is reported here; not under test
  let removed = 0;
  pool.on('remove', () => removed++);
  const db = drizzle(pool);
  const hitBefore = local.stats().injectedFaults;
  let state: Record<string, unknown> = {};
  try {
    await db.execute(sql`SELECT 1`); // a warm, idle connection: the fault hits a reused client
    const outcome = await body(db);
    state = { outcome, hit: local.stats().injectedFaults - hitBefore, checkedOut: checkedOut(pool), waiting: pool.waitingCount, closed: removed > 0 };
    // The pool still serves: the next query gets a healthy connection and gives it back.
    state.healthy = await db.execute(sql`SELECT 1 AS one`).then(() => checkedOut(pool) === 0, (err: unknown) => describe_(err));
  } finally {
    state.ended = await settlesWithin(pool.end(), 3_000);
  }
  return state;
}

describe.each(pools)('drizzle() over %s', (_poolName, makePool) => {
  describe.each(apis)('%s', (_apiName, retried, run) => {
    it.each(cases)('%s: the client is released once and the pool ends', async (_name, c) => {
      const state = await onPool(makePool, async (db) => {
        for (const fault of c.faults) local.inject({ ...fault, times: 1 });
        return run(db, async (tx) => {
          await tx.execute(sql`UPDATE release_t SET n = n + 1 WHERE id = 1`);
          await tx.execute(sql`UPDATE release_t SET n = n + 1 WHERE id = 2`);
        }).then(() => 'resolved', describe_);
      });
      expect(state).toEqual({
        outcome: retried ? c.retried : c.once,
        hit: c.faults.length,
        checkedOut: 0,
        waiting: 0,
        closed: c.closed,
        healthy: true,
        ended: true,
      });
    });
  });

  // Outside transactions Drizzle runs each statement with pool.query(), which pg-pool releases itself.
  it.each([
    ['dropped', { on: 'query', match: 'FROM release_t', drop: true } as Fault, CONNECTION_LOST, true],
    ['answered XX000', { on: 'query', match: 'FROM release_t', error: XX000 } as Fault, 'rejected: XX000', false],
  ])('a select %s outside a transaction: the client is released and the pool ends', async (_name, fault, outcome, closed) => {
    const state = await onPool(makePool, async (db) => {
      local.inject({ ...fault, times: 1 });
      return db.execute(sql`SELECT n FROM release_t WHERE id = 1`).then(() => 'resolved', describe_);
    });
    expect(state).toEqual({ outcome, hit: 1, checkedOut: 0, waiting: 0, closed, healthy: true, ended: true });
  });
});

describe('migrate(): the migration lock', () => {
  let folder: string;
  const schema = 'release_migrations';

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'dsql-drizzle-release-'));
    mkdirSync(join(folder, 'meta'));
    writeFileSync(join(folder, '0000_release.sql'), 'CREATE TABLE release_m (id integer PRIMARY KEY);\n');
    writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'postgresql', entries: [{ idx: 0, version: '7', when: 1_700_000_000_000, tag: '0000_release', breakpoints: true }] }));
  });

  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  beforeEach(() => adminQuery(local, `DROP TABLE IF EXISTS release_m; DROP SCHEMA IF EXISTS ${schema} CASCADE`));

  /**
   * Arms `fault` on @dsql/local just before the COMMIT of the transaction that wrote the lock row
   * is sent (`times` such COMMITs): the wrapper only decides when, the fault happens on the wire.
   */
  function faultOnLockCommit(pool: pg.Pool, fault: Fault, times: number): { hits: () => number } {
    let armed = 0;
    pool.on('acquire', (client: pg.PoolClient & { lockWritten?: boolean; wrapped?: boolean }) => {
      if (client.wrapped) return;
      client.wrapped = true;
      const query = client.query as (...args: unknown[]) => unknown;
      client.query = function (this: typeof client, ...args: unknown[]) {
        const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text ?? '';
        if (/^(insert into|update) .*_lock"/i.test(text)) client.lockWritten = true;
        else if (/^commit/i.test(text) && client.lockWritten && armed < times) {
          armed++;
          local.inject({ ...fault, times: 1 });
        } else if (/^begin/i.test(text)) client.lockWritten = false;
        return query.apply(this, args);
      } as typeof client.query;
    });
    return { hits: () => armed };
  }

  const COMMIT_LOST = 'rejected: CommitOutcomeUnknownError';
  it.each([
    // Taking the lock is idempotent, so it is retried, also after an unknown COMMIT outcome.
    ['dropped (the lock row committed, its answer lost)', { on: 'commit', drop: true } as Fault, 1, 'applied 0000_release'],
    ['answered XX000', { on: 'commit', error: XX000 } as Fault, 1, 'applied 0000_release'],
    // Lost every time: the run fails, and the lock row it wrote is still given back.
    ['dropped three times in a row', { on: 'commit', drop: true } as Fault, 3, COMMIT_LOST],
  ])('the COMMIT that takes the lock %s: the lock is not left behind, the pool ends', async (_name, fault, times, first) => {
    const pool = new DsqlPool({ ...local.connectionOptions(), max: 2, connectionTimeoutMillis: 5_000 });
    pool.on('error', () => undefined);
    const db = drizzle(pool);
    const injected = faultOnLockCommit(pool, fault, times);
    let state: Record<string, unknown> = {};
    try {
      const outcome = await migrate(db, { migrationsFolder: folder, migrationsSchema: schema }).then((r) => `applied ${r.applied.join(',')}`, describe_);
      const [lock] = await adminQuery(local, `SELECT count(*)::int AS held FROM ${schema}.__drizzle_migrations_lock`);
      const events: string[] = [];
      // Another run (a redeploy) gets the lock at once rather than waiting out a lease.
      const second = await migrate(db, { migrationsFolder: folder, migrationsSchema: schema, lockTimeoutSeconds: 1, onEvent: (e) => events.push(e.type) }).then(
        (r) => `applied ${r.applied.join(',')}`,
        describe_,
      );
      state = { hits: injected.hits(), first: outcome, held: lock?.held, second, waited: events.includes('lock-wait'), checkedOut: checkedOut(pool) };
    } finally {
      state.ended = await settlesWithin(pool.end(), 3_000);
    }
    const second = first === COMMIT_LOST ? 'applied 0000_release' : 'applied ';
    expect(state).toEqual({ hits: times, first, held: 0, second, waited: false, checkedOut: 0, ended: true });
  });
});
