/**
 * Reads and DDL meeting another session's schema change in progress, through two real
 * sessions. On DSQL a read runs on its snapshot and never waits or conflicts; a schema change
 * that loses to another one fails when it commits, once the winner's change exists, with
 * `40001 schema has been updated by another transaction (OC001)` (user guide, "DDL and
 * distributed transactions"). PostgreSQL underneath makes both wait for the lock of the change
 * in progress: the emulator lets them wait (bounded) instead of failing at once.
 */
import type pg from 'pg';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, connectPostgresJs, failure } from './helpers.js';

let dsql: DsqlLocal;
let a: pg.Client;
let b: pg.Client;
let check: pg.Client;
beforeAll(async () => {
  dsql = await startDsqlLocal();
  [a, b, check] = await Promise.all([connectPg(dsql), connectPg(dsql), connectPg(dsql)]);
}, 60_000);
afterAll(async () => {
  await Promise.all([a, b, check].map((c) => c?.end().catch(() => {})));
  await dsql?.stop();
});
let n = 0;
let table: string;
beforeEach(async () => {
  table = `sc_${++n}`;
  await check.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
  await check.query(`INSERT INTO ${table} VALUES (1), (2)`);
});
afterEach(async () => {
  // A failed case may leave a transaction open.
  await Promise.all([a, b].map((c) => c.query('ROLLBACK').catch(() => {})));
});

const OC001 = expect.objectContaining({ code: '40001', message: 'schema has been updated by another transaction (OC001)' });

/** A promise whose outcome can be looked at without awaiting it. */
function track<T>(p: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  const promise = p.finally(() => (done = true));
  promise.catch(() => {});
  return { promise, settled: () => done };
}

/**
 * Waits until an upstream backend runs a statement containing `marker` and waits for a lock
 * (polled through `check`, bounded). Fails, saying what it awaited, if the statement ended first.
 */
function waitingOnLock(marker: string, pending: { settled: () => boolean; promise: Promise<unknown> }): Promise<void> {
  return waitingFor(marker, 'a lock', pending, "wait_event_type = 'Lock'");
}

/** Waits until an upstream backend runs a statement containing `marker`, optionally in a state (`where`). */
async function waitingFor(marker: string, what: string, pending: { settled: () => boolean; promise: Promise<unknown> }, where = 'true'): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (pending.settled()) {
      const outcome = await pending.promise.then(
        (r) => `it answered ${JSON.stringify((r as pg.QueryResult).rows ?? r)}`,
        (e: Error & { code?: string }) => `it failed: ${e.code} ${e.message}`,
      );
      throw new Error(`expected the statement marked ${marker} to wait for ${what}; ${outcome}`);
    }
    const { rows } = await check.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${where} AND position($1 in query) > 0 AND pid <> pg_backend_pid()`,
      [marker],
    );
    if (rows[0].n > 0) return;
    if (Date.now() > deadline) throw new Error(`the statement marked ${marker} never waited for ${what} within 20 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a read meeting another session’s schema change in progress', () => {
  it.each([
    ['simple protocol', false],
    ['extended protocol', true],
  ] as const)('an autocommit read waits for it and answers once it commits (%s)', async (_name, extended) => {
    await a.query('BEGIN');
    await a.query(`ALTER TABLE ${table} ADD COLUMN note text`);
    const marker = `/* read-${table} */`;
    const read = track(extended ? b.query(`SELECT id ${marker} FROM ${table} WHERE id > $1 ORDER BY id`, [0]) : b.query(`SELECT id ${marker} FROM ${table} ORDER BY id`));
    await waitingOnLock(marker, read);
    await a.query('COMMIT');
    expect((await read.promise).rows).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('a read that is not a plain SELECT (WITH …) waits too, and answers once the change rolls back', async () => {
    await a.query('BEGIN');
    await a.query(`ALTER TABLE ${table} ADD COLUMN note text`);
    const marker = `/* with-${table} */`;
    const read = track(b.query(`WITH r AS (SELECT id FROM ${table}) SELECT count(*)::int AS n ${marker} FROM r`));
    await waitingOnLock(marker, read);
    await a.query('ROLLBACK');
    expect((await read.promise).rows).toEqual([{ n: 2 }]);
  });

  it('a read of information_schema answers at once from the committed catalog', async () => {
    await a.query('BEGIN');
    await a.query(`ALTER TABLE ${table} ADD COLUMN note text`);
    const columns = await b.query(`SELECT column_name FROM information_schema.columns WHERE table_name = '${table}' ORDER BY column_name`);
    expect(columns.rows).toEqual([{ column_name: 'id' }]);
    await a.query('ROLLBACK');
  });

  it('a read inside a transaction block waits too; the block goes on', async () => {
    await a.query('BEGIN');
    await a.query(`ALTER TABLE ${table} ADD COLUMN note text`);
    await b.query('BEGIN');
    const marker = `/* block-${table} */`;
    const read = track(b.query(`SELECT count(*)::int AS n ${marker} FROM ${table}`));
    await waitingOnLock(marker, read);
    await a.query('COMMIT');
    expect((await read.promise).rows).toEqual([{ n: 2 }]);
    await b.query('COMMIT');
  });

  it('through Postgres.js (named prepared statements)', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      await a.query('BEGIN');
      await a.query(`ALTER TABLE ${table} ADD COLUMN note text`);
      const marker = `/* pgjs-${table} */`;
      const read = track(sql.unsafe(`SELECT id ${marker} FROM ${table} WHERE id = $1`, [2], { prepare: true }).then((rows) => ({ rows: [...rows] })));
      await waitingOnLock(marker, read);
      await a.query('COMMIT');
      expect((await read.promise).rows).toEqual([{ id: 2 }]);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});

describe('an autocommit schema change meeting another transaction', () => {
  it.each([
    ['simple protocol', false],
    ['extended protocol', true],
  ] as const)('it commits first: a transaction block that wrote to the table loses at its COMMIT with OC001 (%s)', async (_name, extended) => {
    // The user guide's example: session 1 alters the table, session 2's insert fails with OC001.
    await a.query('BEGIN');
    await a.query(`INSERT INTO ${table} VALUES (3)`);
    const alter = `ALTER TABLE ${table} ADD COLUMN note text`;
    await (extended ? b.query({ text: alter, values: [] as unknown[], queryMode: 'extended' } as pg.QueryConfig) : b.query(alter));
    expect(await failure(() => a.query('COMMIT'))).toEqual(OC001);
    expect((await check.query(`SELECT id, note FROM ${table} ORDER BY id`)).rows).toEqual([
      { id: 1, note: null },
      { id: 2, note: null },
    ]);
  });

  it('it commits first: a transaction block creating the same table loses at its COMMIT with OC001; its retry finds the table', async () => {
    const created = `${table}_new`;
    await a.query('BEGIN');
    await a.query(`CREATE TABLE ${created} (id int PRIMARY KEY)`);
    await b.query(`CREATE TABLE ${created} (id int PRIMARY KEY, v text)`);
    expect(await failure(() => a.query('COMMIT'))).toEqual(OC001);
    await a.query(`CREATE TABLE IF NOT EXISTS ${created} (id int PRIMARY KEY)`);
    expect((await check.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = '${created}'`)).rows).toEqual([{ n: 2 }]);
  });

  it('a schema change that is committing is waited for: the loser fails with OC001 once the winner committed; its retry finds the table', async () => {
    // The winner under way: an autocommit CREATE TABLE sent with a query that waits until the test
    // opens a gate (one simple Query is one transaction) — a sequence's value, which every session
    // sees at once (sequences are not transactional) — polled at most 30 s.
    const created = `${table}_new`;
    await check.query(`CREATE SEQUENCE ${table}_gate CACHE 1`);
    const gate =
      `WITH RECURSIVE w(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM w WHERE n < 1500 AND pg_sleep(0.02) IS NOT NULL ` +
      `AND (SELECT last_value FROM ${table}_gate WHERE w.n >= 0) < 2) SELECT count(*) AS gated FROM w`;
    const winner = track(a.query(`CREATE TABLE ${created} (id int PRIMARY KEY); ${gate}`));
    await waitingFor(`${table}_gate`, 'the gate', winner, "state = 'active'");
    const marker = `/* loser-${created} */`;
    const text = `CREATE TABLE IF NOT EXISTS ${created} ${marker} (id int PRIMARY KEY)`;
    const loser = track(b.query(text));
    await waitingOnLock(marker, loser);
    expect(winner.settled()).toBe(false);
    await check.query(`SELECT setval('${table}_gate', 2)`);
    await winner.promise;
    expect(await failure(() => loser.promise)).toEqual(OC001);
    // As Kysely's and the migration toolkit's re-check do: the retry finds the winner's table.
    await b.query(text);
    expect((await check.query(`SELECT count(*)::int AS n FROM ${created}`)).rows).toEqual([{ n: 0 }]);
  });

  it('two autocommit CREATE TABLE IF NOT EXISTS at the same instant: each succeeds or fails with OC001, never a PostgreSQL race error', async () => {
    for (let round = 0; round < 5; round++) {
      const created = `${table}_r${round}`;
      const sql = `CREATE TABLE IF NOT EXISTS ${created} (id int PRIMARY KEY)`;
      const outcomes = await Promise.allSettled([a.query(sql), b.query(sql)]);
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toEqual(OC001);
      expect(outcomes.some((o) => o.status === 'fulfilled')).toBe(true);
      // Every loser's retry succeeds.
      await Promise.all([a.query(sql), b.query(sql)]);
    }
  });
});
