/**
 * DSQL's per-transaction rules on prepared statements that are parsed once and executed many
 * times: Postgres.js (named statements by default) and node-postgres with `name:` queries, over
 * TLS with real tokens, against `startDsqlLocal()` and its embedded PostgreSQL.
 */
import type pg from 'pg';
import type postgres from 'postgres';
import { startDsqlLocal, type DsqlLocal, type SqlContext, type SqlRules } from '../src/index.js';
import { connectPg, connectPostgresJs, failure } from './helpers.js';

const DDL_AND_DML = { code: '0A000', message: 'ddl and dml are not supported in the same transaction' };
const MULTIPLE_DDL = { code: '0A000', message: 'multiple ddl statements not supported in a transaction' };

let dsql: DsqlLocal;
let admin: pg.Client;
beforeAll(async () => {
  dsql = await startDsqlLocal();
  admin = await connectPg(dsql);
  await admin.query('CREATE TABLE prep_items (id int PRIMARY KEY)');
}, 60_000);
afterAll(async () => {
  await admin?.end().catch(() => {});
  await dsql?.stop();
});
beforeEach(async () => {
  await admin.query('DELETE FROM prep_items');
});

const ids = async (): Promise<number[]> => (await admin.query('SELECT id FROM prep_items ORDER BY id')).rows.map((r: { id: number }) => r.id);
const exists = async (table: string): Promise<boolean> => (await admin.query('SELECT to_regclass($1) IS NOT NULL AS e', [table])).rows[0].e;

describe('Postgres.js named prepared statements', () => {
  let sql: postgres.Sql;
  beforeAll(async () => {
    sql = await connectPostgresJs(dsql);
  });
  afterAll(async () => {
    await sql?.end();
  });

  it('refuses a reused INSERT after CREATE TABLE in the same transaction, and keeps nothing of it', async () => {
    await sql`INSERT INTO prep_items (id) VALUES (${1})`;
    // The INSERT is a named statement on this connection from now on: only Bind/Execute follow.
    const prepared = await sql`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = 'INSERT INTO prep_items (id) VALUES ($1)'`;
    expect(prepared).toEqual([{ n: 1 }]);
    const err = await failure(() =>
      sql.begin(async (tx) => {
        await tx`CREATE TABLE prep_js_a (id int)`;
        await tx`INSERT INTO prep_items (id) VALUES (${2})`;
      }),
    );
    expect(err).toEqual(expect.objectContaining(DDL_AND_DML));
    expect(await exists('prep_js_a')).toBe(false);
    expect(await ids()).toEqual([1]);
  });

  it('refuses a statement first seen after the DDL too (Parse, Describe, then Bind/Execute)', async () => {
    const err = await failure(() =>
      sql.begin(async (tx) => {
        await tx`CREATE TABLE prep_js_b (id int)`;
        await tx`INSERT INTO prep_items (id) SELECT ${7}::int WHERE true`;
      }),
    );
    expect(err).toEqual(expect.objectContaining(DDL_AND_DML));
    expect(await exists('prep_js_b')).toBe(false);
  });

  it('runs the same prepared statements again and again, in autocommit and in transactions', async () => {
    for (let i = 1; i <= 3; i++) await sql`INSERT INTO prep_items (id) VALUES (${i})`;
    await sql.begin(async (tx) => {
      await tx`INSERT INTO prep_items (id) VALUES (${4})`;
      await tx`INSERT INTO prep_items (id) VALUES (${5})`;
      await tx`UPDATE prep_items SET id = id + ${100} WHERE id = ${5}`;
    });
    await sql.begin(async (tx) => {
      await tx`UPDATE prep_items SET id = id + ${100} WHERE id = ${4}`;
    });
    expect(await ids()).toEqual([1, 2, 3, 104, 105]);
    // DDL in a transaction of its own, twice: each execution is its transaction's only DDL.
    for (let i = 0; i < 2; i++) {
      await sql.begin(async (tx) => {
        await tx`CREATE TABLE IF NOT EXISTS prep_js_c (id int)`;
      });
    }
    expect(await exists('prep_js_c')).toBe(true);
  });

  it('counts pipelined autocommit statements each in its own transaction', async () => {
    await sql`INSERT INTO prep_items (id) VALUES (${1})`;
    // One connection: the three are written together, before any of them is answered.
    const settled = await Promise.allSettled([
      sql`CREATE TABLE prep_js_d (id int)`,
      sql`INSERT INTO prep_items (id) VALUES (${2})`,
      sql`CREATE TABLE prep_js_e (id int)`,
    ]);
    expect(settled.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok'))).toEqual(['ok', 'ok', 'ok']);
    expect(await ids()).toEqual([1, 2]);
  });
});

describe('node-postgres queries with a name', () => {
  let c: pg.Client;
  beforeAll(async () => {
    c = await connectPg(dsql);
  });
  afterAll(async () => {
    await c?.end();
  });
  // A failed expectation must not leave the next test inside a transaction.
  afterEach(async () => {
    await c.query('ROLLBACK');
  });
  const insert = (id: number) => ({ name: 'prep_insert', text: 'INSERT INTO prep_items (id) VALUES ($1)', values: [id] });
  const createTable = { name: 'prep_create', text: 'CREATE TABLE IF NOT EXISTS prep_pg_t (id int)' };

  it('refuses the reused INSERT after DDL, aborts the transaction (25P02) and keeps nothing', async () => {
    await c.query(insert(1));
    await c.query('BEGIN');
    await c.query('CREATE TABLE prep_pg_a (id int)');
    expect(await failure(() => c.query(insert(2)))).toEqual(expect.objectContaining(DDL_AND_DML));
    expect(await failure(() => c.query('SELECT 1'))).toEqual(expect.objectContaining({ code: '25P02' }));
    await c.query('ROLLBACK');
    expect(await exists('prep_pg_a')).toBe(false);
    expect(await ids()).toEqual([1]);
  });

  it('refuses a reused DDL statement after DML and after another DDL', async () => {
    await c.query('BEGIN');
    await c.query(createTable);
    await c.query('COMMIT');
    await c.query('BEGIN');
    await c.query(insert(1));
    expect(await failure(() => c.query(createTable))).toEqual(expect.objectContaining(DDL_AND_DML));
    await c.query('ROLLBACK');
    await c.query('BEGIN');
    await c.query('CREATE TABLE prep_pg_b (id int)');
    expect(await failure(() => c.query(createTable))).toEqual(expect.objectContaining(MULTIPLE_DDL));
    await c.query('ROLLBACK');
    expect(await exists('prep_pg_b')).toBe(false);
    expect(await ids()).toEqual([]);
  });

  it('runs the named statements again and again where DSQL allows them', async () => {
    await c.query(insert(1));
    await c.query('BEGIN');
    await c.query(insert(2));
    await c.query(insert(3));
    await c.query('COMMIT');
    await c.query('BEGIN');
    await c.query(createTable);
    await c.query('COMMIT');
    await c.query(createTable);
    await c.query(insert(4));
    expect(await ids()).toEqual([1, 2, 3, 4]);
    // Autocommit statements are transactions of their own: DDL then the reused INSERT is fine.
    await c.query('CREATE TABLE prep_pg_c (id int)');
    expect((await c.query(insert(5))).rowCount).toBe(1);
    expect(await ids()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('the proxy side of onExecute', () => {
  // Small recording rules (the input here; the proxy is what is under test).
  const parsed: { sql: string; ctx: SqlContext }[] = [];
  const executed: { sql: string; ctx: SqlContext }[] = [];
  const recording: SqlRules = {
    newSession: () => ({
      onSql(sql, ctx) {
        parsed.push({ sql, ctx });
        return { kind: 'forward' };
      },
      onExecute(sql, ctx) {
        executed.push({ sql, ctx });
        return sql.includes('refuse me') ? { code: '0A000', message: 'refused at execute' } : undefined;
      },
    }),
  };
  let d: DsqlLocal;
  let sql: postgres.Sql;
  beforeAll(async () => {
    d = await startDsqlLocal({ upstream: dsql.upstreamUrl, credentials: dsql.credentials, rules: recording });
    sql = await connectPostgresJs(d);
  });
  afterAll(async () => {
    await sql?.end();
    await d?.stop();
  });
  beforeEach(() => {
    parsed.length = 0;
    executed.length = 0;
  });
  const runs = (text: string) => executed.filter((e) => e.sql === text);

  it('calls onExecute once per execution of a statement parsed once, with executeChecked', async () => {
    for (let i = 0; i < 3; i++) expect(await sql`SELECT ${i}::int AS x`).toEqual([{ x: i }]);
    expect(runs('SELECT $1::int AS x')).toHaveLength(3);
    expect(parsed.filter((p) => p.sql === 'SELECT $1::int AS x')).toHaveLength(1);
    expect([...parsed, ...executed].every((e) => e.ctx.executeChecked === true)).toBe(true);
    await sql.begin(async (tx) => {
      await tx`SELECT ${9}::int AS x`;
    });
    expect(runs('SELECT $1::int AS x').at(-1)?.ctx).toEqual({ protocol: 'extended', txStatus: 'T', executeChecked: true, batchStart: true });
  });

  it('counts a portal fetched in pieces (a cursor) as one execution', async () => {
    const seen: number[] = [];
    await sql`SELECT g FROM generate_series(1, ${10}::int) g`.cursor(3, (rows) => {
      seen.push(...rows.map((r) => r.g as number));
    });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(runs('SELECT g FROM generate_series(1, $1::int) g')).toHaveLength(1);
  });

  it('answers an onExecute error instead of executing, and aborts a transaction block', async () => {
    expect(await failure(() => sql`SELECT 'refuse me', ${1}::int`)).toEqual(expect.objectContaining({ code: '0A000', message: 'refused at execute' }));
    expect(await sql`SELECT ${2}::int AS x`).toEqual([{ x: 2 }]);
    const c = await connectPg(d);
    try {
      await c.query('BEGIN');
      await c.query('INSERT INTO prep_items (id) VALUES ($1)', [50]);
      expect(await failure(() => c.query("SELECT 'refuse me', $1::int", [1]))).toEqual(expect.objectContaining({ code: '0A000' }));
      expect(await failure(() => c.query('SELECT $1::int AS x', [3]))).toEqual(expect.objectContaining({ code: '25P02' }));
      await c.query('ROLLBACK');
      expect((await c.query('SELECT $1::int AS x', [4])).rows).toEqual([{ x: 4 }]);
    } finally {
      await c.end();
    }
    expect(await ids()).toEqual([]);
  });
});
