/**
 * First committer wins, as on DSQL: every ordering of two transactions touching the same rows,
 * through node-postgres in both protocols (no parameters: simple Query; parameters: extended)
 * and Postgres.js (named prepared statements). No statement waits for another transaction.
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
  await check.query('CREATE TABLE parent (id int PRIMARY KEY, v int NOT NULL)');
  await check.query('CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id))');
}, 60_000);
afterAll(async () => {
  await Promise.all([a, b, check].map((c) => c?.end().catch(() => {})));
  await dsql?.stop();
});
beforeEach(async () => {
  await check.query('DELETE FROM child');
  await check.query('DELETE FROM parent');
  await check.query('INSERT INTO parent VALUES (1, 10), (2, 20), (3, 30)');
});

const OCC = expect.objectContaining({ code: '40001', message: 'change conflicts with another transaction (OC000)' });
/** "Promptly": far below any lock wait a test would notice, with room for a loaded machine. */
const PROMPT_MS = 500;

async function v(id: number): Promise<number | undefined> {
  return (await check.query('SELECT v FROM parent WHERE id = $1', [id])).rows[0]?.v;
}

/** Runs `sql` on `c`, checks it answered without waiting for a lock, returns the result. */
async function prompt(c: pg.Client, sql: string, values?: unknown[]): Promise<pg.QueryResult> {
  const started = Date.now();
  const r = await c.query(sql, values);
  expect(Date.now() - started).toBeLessThan(PROMPT_MS);
  return r;
}

// Simple protocol (no parameters) and extended protocol (parameters) take different paths.
describe.each([
  ['simple protocol', false],
  ['extended protocol', true],
] as const)('first committer wins (%s)', (_name, extended) => {
  const q = (c: pg.Client, sql: string, values: unknown[]) =>
    extended ? prompt(c, sql, values) : prompt(c, values.reduce<string>((s, val, i) => s.replaceAll(`$${i + 1}`, String(val)), sql));

  it('two updates of one row: the second writer commits first and wins; the first writer loses', async () => {
    await a.query('BEGIN');
    await q(a, 'UPDATE parent SET v = $1 WHERE id = $2', [11, 1]);
    await b.query('BEGIN');
    expect((await q(b, 'UPDATE parent SET v = $1 WHERE id = $2', [12, 1])).rowCount).toBe(1);
    await b.query('COMMIT');
    expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
    expect(await v(1)).toBe(12);
  });

  it('two updates of one row: the first writer commits first and wins; the second loses', async () => {
    await a.query('BEGIN');
    await q(a, 'UPDATE parent SET v = $1 WHERE id = $2', [11, 1]);
    await b.query('BEGIN');
    await q(b, 'UPDATE parent SET v = $1 WHERE id = $2', [12, 1]);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    expect(await v(1)).toBe(11);
  });

  it('disjoint rows: both commit', async () => {
    await a.query('BEGIN');
    await b.query('BEGIN');
    await q(a, 'UPDATE parent SET v = $1 WHERE id = $2', [11, 1]);
    await q(b, 'UPDATE parent SET v = $1 WHERE id = $2', [22, 2]);
    await b.query('COMMIT');
    await a.query('COMMIT');
    expect([await v(1), await v(2)]).toEqual([11, 22]);
  });

  it('a read-only transaction never conflicts and keeps its snapshot', async () => {
    await a.query('BEGIN');
    expect((await q(a, 'SELECT v FROM parent WHERE id = $1', [1])).rows).toEqual([{ v: 10 }]);
    await b.query('BEGIN');
    await q(b, 'UPDATE parent SET v = $1 WHERE id = $2', [12, 1]);
    await b.query('COMMIT');
    expect((await q(a, 'SELECT v FROM parent WHERE id = $1', [1])).rows).toEqual([{ v: 10 }]);
    await a.query('COMMIT');
  });

  it('two deletes of one row: the first to commit wins', async () => {
    await a.query('BEGIN');
    expect((await q(a, 'DELETE FROM parent WHERE id = $1', [3])).rowCount).toBe(1);
    await b.query('BEGIN');
    expect((await q(b, 'DELETE FROM parent WHERE id = $1', [3])).rowCount).toBe(1);
    await b.query('COMMIT');
    expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
    expect(await v(3)).toBeUndefined();
  });

  it('an update and a delete of one row: the deleter commits first, the updater loses', async () => {
    await a.query('BEGIN');
    await q(a, 'UPDATE parent SET v = $1 WHERE id = $2', [31, 3]);
    await b.query('BEGIN');
    await q(b, 'DELETE FROM parent WHERE id = $1', [3]);
    await b.query('COMMIT');
    expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
    expect(await v(3)).toBeUndefined();
  });

  it('inserts of the same key: the second inserter commits first and wins', async () => {
    await a.query('BEGIN');
    await q(a, 'INSERT INTO parent VALUES ($1, $2)', [7, 71]);
    await b.query('BEGIN');
    expect((await q(b, 'INSERT INTO parent VALUES ($1, $2)', [7, 72])).rowCount).toBe(1);
    await b.query('COMMIT');
    expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
    expect(await v(7)).toBe(72);
  });

  it('inserts of the same key: the first inserter commits first and wins', async () => {
    await a.query('BEGIN');
    await q(a, 'INSERT INTO parent VALUES ($1, $2)', [7, 71]);
    await b.query('BEGIN');
    await q(b, 'INSERT INTO parent VALUES ($1, $2)', [7, 72]);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    expect(await v(7)).toBe(71);
  });

  it('SELECT … FOR UPDATE, then a write of that row commits first: the reader loses', async () => {
    await a.query('BEGIN');
    expect((await q(a, 'SELECT v FROM parent WHERE id = $1 FOR UPDATE', [1])).rows).toEqual([{ v: 10 }]);
    await b.query('BEGIN');
    await q(b, 'UPDATE parent SET v = $1 WHERE id = $2', [12, 1]);
    await b.query('COMMIT');
    expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
    expect(await v(1)).toBe(12);
  });

  it('SELECT … FOR UPDATE commits first: the writer of that row loses', async () => {
    await a.query('BEGIN');
    await q(a, 'SELECT v FROM parent WHERE id = $1 FOR UPDATE', [1]);
    await b.query('BEGIN');
    await q(b, 'UPDATE parent SET v = $1 WHERE id = $2', [12, 1]);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    expect(await v(1)).toBe(10);
  });

  it('a write, then SELECT … FOR UPDATE of that row (answered from its snapshot) commits first: the writer loses', async () => {
    await a.query('BEGIN');
    await q(a, 'UPDATE parent SET v = $1 WHERE id = $2', [11, 1]);
    await b.query('BEGIN');
    expect((await q(b, 'SELECT v FROM parent WHERE id = $1 FOR UPDATE', [1])).rows).toEqual([{ v: 10 }]);
    await b.query('COMMIT');
    expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
    expect(await v(1)).toBe(10);
  });

  it('FOR KEY SHARE commits first: deleting the key loses', async () => {
    await a.query('BEGIN');
    await q(a, 'SELECT v FROM parent WHERE id = $1 FOR KEY SHARE', [2]);
    await b.query('BEGIN');
    await q(b, 'DELETE FROM parent WHERE id = $1', [2]);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    expect(await v(2)).toBe(20);
  });

  it('foreign key: the parent is deleted and committed first, the child insert loses', async () => {
    await a.query('BEGIN');
    await q(a, 'DELETE FROM parent WHERE id = $1', [2]);
    await b.query('BEGIN');
    expect((await q(b, 'INSERT INTO child VALUES ($1, $2)', [1, 2])).rowCount).toBe(1);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    expect((await check.query('SELECT count(*)::int AS n FROM child')).rows).toEqual([{ n: 0 }]);
  });

  it('foreign key: the child insert commits first, deleting the parent loses', async () => {
    await a.query('BEGIN');
    await q(a, 'DELETE FROM parent WHERE id = $1', [2]);
    await b.query('BEGIN');
    await q(b, 'INSERT INTO child VALUES ($1, $2)', [1, 2]);
    await b.query('COMMIT');
    expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
    expect((await check.query('SELECT parent_id FROM child')).rows).toEqual([{ parent_id: 2 }]);
    expect(await v(2)).toBe(20);
  });

  it('foreign key: a child inserted and committed first, then the parent deleted by an older transaction loses', async () => {
    await b.query('BEGIN');
    await q(b, 'SELECT v FROM parent WHERE id = $1', [2]);
    await a.query('BEGIN');
    await q(a, 'INSERT INTO child VALUES ($1, $2)', [1, 2]);
    await q(b, 'DELETE FROM parent WHERE id = $1', [2]);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    expect(await v(2)).toBe(20);
  });

  it('a non-key update of the parent does not conflict with a child insert', async () => {
    await a.query('BEGIN');
    await q(a, 'UPDATE parent SET v = $1 WHERE id = $2', [21, 2]);
    await b.query('BEGIN');
    await q(b, 'INSERT INTO child VALUES ($1, $2)', [1, 2]);
    await a.query('COMMIT');
    await b.query('COMMIT');
    expect(await v(2)).toBe(21);
  });

  it('reads of a transaction that has lost see its snapshot, and its own later writes', async () => {
    await a.query('BEGIN');
    await q(a, 'UPDATE parent SET v = $1 WHERE id = $2', [11, 1]);
    await b.query('BEGIN');
    await q(b, 'UPDATE parent SET v = $1 WHERE id = $2', [12, 1]);
    await b.query('COMMIT');
    await check.query('UPDATE parent SET v = 99 WHERE id = 3');
    // A lost (B committed first): it still reads as of its snapshot.
    expect((await q(a, 'SELECT id, v FROM parent ORDER BY id', [])).rows).toEqual([
      { id: 1, v: 10 },
      { id: 2, v: 20 },
      { id: 3, v: 30 },
    ]);
    await q(a, 'UPDATE parent SET v = $1 WHERE id = $2', [23, 2]);
    expect((await q(a, 'SELECT v FROM parent WHERE id = $1', [2])).rows).toEqual([{ v: 23 }]);
    expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
    expect([await v(1), await v(2), await v(3)]).toEqual([12, 20, 99]);
  });

  it('no statement waits for a row another live transaction holds', async () => {
    await a.query('BEGIN');
    await q(a, 'UPDATE parent SET v = $1 WHERE id = $2', [11, 1]);
    await q(a, 'DELETE FROM parent WHERE id = $1', [2]);
    await q(a, 'INSERT INTO parent VALUES ($1, $2)', [8, 80]);
    await b.query('BEGIN');
    // Each of these meets one of A's row locks; each answers at once.
    await q(b, 'UPDATE parent SET v = $1 WHERE id = $2', [12, 1]);
    await q(b, 'SELECT v FROM parent WHERE id = $1 FOR UPDATE', [1]);
    await q(b, 'DELETE FROM parent WHERE id = $1', [2]);
    await q(b, 'INSERT INTO parent VALUES ($1, $2)', [8, 81]);
    await q(b, 'INSERT INTO child VALUES ($1, $2)', [1, 2]);
    await q(b, 'SELECT v FROM parent WHERE id = $1', [1]);
    await b.query('ROLLBACK');
    await a.query('ROLLBACK');
  });
});

describe('the arbiter', () => {
  it('knows a FOR UPDATE holder of a row in a schema other than public (it commits first: the writer loses)', async () => {
    await check.query('CREATE SCHEMA app');
    await check.query('CREATE TABLE app.parent (id int PRIMARY KEY, v int NOT NULL)');
    try {
      await check.query('INSERT INTO app.parent VALUES (1, 10)');
      await a.query('BEGIN');
      await a.query('SELECT v FROM app.parent WHERE id = 1 FOR UPDATE');
      await b.query('BEGIN');
      await prompt(b, 'UPDATE app.parent SET v = 12 WHERE id = 1');
      await a.query('COMMIT');
      expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
      expect((await check.query('SELECT v FROM app.parent')).rows).toEqual([{ v: 10 }]);
    } finally {
      await check.query('DROP TABLE app.parent');
      await check.query('DROP SCHEMA app');
    }
  });

  it('a COMMIT waits for a holder busy with a long statement, and a client gone mid-COMMIT does not hold up the next', async () => {
    const [x, y] = await Promise.all([connectPg(dsql), connectPg(dsql)]);
    y.on('error', () => {});
    try {
      await a.query('BEGIN');
      await a.query('UPDATE parent SET v = 11 WHERE id = 1');
      // A is busy (its row lock stays) when the COMMITs below want the row.
      const sleeping = a.query('SELECT pg_sleep(1.5)');
      await y.query('BEGIN');
      await y.query('UPDATE parent SET v = 12 WHERE id = 1');
      const yCommit = y.query('COMMIT').catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200));
      // Y goes away while its COMMIT waits for A's lock.
      (y as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      await yCommit;
      await x.query('BEGIN');
      await x.query('UPDATE parent SET v = 13 WHERE id = 1');
      const started = Date.now();
      await x.query('COMMIT');
      // X waited for A's statement to end (A lost: rolled back to before its write), not longer.
      expect(Date.now() - started).toBeLessThan(4000);
      await sleeping;
      expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
      expect(await v(1)).toBe(13);
    } finally {
      await x.end().catch(() => {});
      await y.end().catch(() => {});
    }
  });
});

describe('first committer wins through Postgres.js (named prepared statements)', () => {
  it('the transaction that commits first wins, whoever wrote first', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      await a.query('BEGIN');
      await a.query('UPDATE parent SET v = 11 WHERE id = 1');
      await sql.begin(async (tx) => {
        const started = Date.now();
        await tx`UPDATE parent SET v = ${12} WHERE id = ${1}`;
        expect(Date.now() - started).toBeLessThan(PROMPT_MS);
      });
      expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
      expect(await v(1)).toBe(12);
      // The other way round: the writer holding the row commits first.
      await a.query('BEGIN');
      await a.query('UPDATE parent SET v = 13 WHERE id = 1');
      const err = await failure(() =>
        sql.begin(async (tx) => {
          await tx`UPDATE parent SET v = ${14} WHERE id = ${1}`;
          await a.query('COMMIT');
        }),
      );
      expect(err).toEqual(OCC);
      expect(await v(1)).toBe(13);
      expect([...(await sql`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'dsql_local_replay'`)]).toEqual([{ n: 0 }]);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
