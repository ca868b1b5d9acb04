/**
 * DSQL's per-transaction rules under pipelining: Postgres.js writes every query on a connection
 * at once, before any answer, so the rules must know which transaction a statement runs in
 * when it is sent, not when the previous one's ReadyForQuery comes back.
 */
import type pg from 'pg';
import type postgres from 'postgres';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, connectPostgresJs } from './helpers.js';

let dsql: DsqlLocal;
let admin: pg.Client;
let sql: postgres.Sql;
beforeAll(async () => {
  dsql = await startDsqlLocal();
  admin = await connectPg(dsql);
  await admin.query('CREATE TABLE piped (id int PRIMARY KEY)');
  sql = await connectPostgresJs(dsql, { max: 1 });
  // Connected: from now on Postgres.js writes queries issued together without waiting.
  await sql`SELECT 1`;
}, 60_000);
afterAll(async () => {
  await sql?.end().catch(() => {});
  await admin?.end().catch(() => {});
  await dsql?.stop();
});
beforeEach(async () => {
  await admin.query('DELETE FROM piped');
});

const DDL_AND_DML = 'ddl and dml are not supported in the same transaction';
const MULTIPLE_DDL = 'multiple ddl statements not supported in a transaction';

/** Each outcome: 'ok', or the error's SQLSTATE and message. */
async function outcomes(queries: Array<Promise<unknown>>): Promise<string[]> {
  const settled = await Promise.allSettled(queries);
  return settled.map((r) => (r.status === 'fulfilled' ? 'ok' : `${(r.reason as { code?: string }).code} ${(r.reason as Error).message}`));
}

async function tableExists(name: string): Promise<boolean> {
  return (await admin.query('SELECT to_regclass($1) IS NOT NULL AS e', [name])).rows[0].e;
}

async function ids(): Promise<number[]> {
  return (await admin.query('SELECT id FROM piped ORDER BY id')).rows.map((r: { id: number }) => r.id);
}

describe('simple queries pipelined after BEGIN', () => {
  it('refuses DML after DDL in the block (25P02 after), and keeps nothing', async () => {
    const got = await outcomes([
      sql.unsafe('BEGIN'),
      sql.unsafe('CREATE TABLE piped_a (id int PRIMARY KEY)'),
      sql.unsafe('INSERT INTO piped VALUES (1)'),
      sql.unsafe('SELECT 1'),
      sql.unsafe('ROLLBACK'),
    ]);
    expect(got).toEqual(['ok', 'ok', `0A000 ${DDL_AND_DML}`, '25P02 current transaction is aborted, commands ignored until end of transaction block', 'ok']);
    expect(await tableExists('piped_a')).toBe(false);
    expect(await ids()).toEqual([]);
  });

  it('refuses a second DDL in the block', async () => {
    const got = await outcomes([
      sql.unsafe('BEGIN'),
      sql.unsafe('CREATE TABLE piped_b (id int PRIMARY KEY)'),
      sql.unsafe('CREATE TABLE piped_c (id int PRIMARY KEY)'),
      sql.unsafe('ROLLBACK'),
    ]);
    expect(got).toEqual(['ok', 'ok', `0A000 ${MULTIPLE_DDL}`, 'ok']);
    expect(await tableExists('piped_b')).toBe(false);
  });

  it('counts extended-protocol executions pipelined after a simple BEGIN into the block', async () => {
    const got = await outcomes([
      sql.unsafe('BEGIN'),
      sql`CREATE TABLE piped_d (id int PRIMARY KEY)`,
      sql`INSERT INTO piped VALUES (${1})`,
      sql.unsafe('ROLLBACK'),
    ]);
    expect(got).toEqual(['ok', 'ok', `0A000 ${DDL_AND_DML}`, 'ok']);
    expect(await tableExists('piped_d')).toBe(false);
  });

  it('starts afresh after the block: pipelined COMMIT, then DDL and DML in their own transactions', async () => {
    const got = await outcomes([
      sql.unsafe('BEGIN'),
      sql.unsafe('INSERT INTO piped VALUES (1)'),
      sql.unsafe('COMMIT'),
      sql.unsafe('CREATE TABLE piped_e (id int PRIMARY KEY)'),
      sql.unsafe('INSERT INTO piped VALUES (2)'),
      sql`INSERT INTO piped VALUES (${3})`,
      sql.unsafe('DROP TABLE piped_e'),
    ]);
    expect(got).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(await ids()).toEqual([1, 2, 3]);
    expect(await tableExists('piped_e')).toBe(false);
  });

  it('a refusal aborts the pipelined block: later statements get 25P02, not a refusal of their own', async () => {
    const got = await outcomes([
      sql.unsafe('BEGIN'),
      sql.unsafe('TRUNCATE piped'),
      sql.unsafe('CREATE TABLE piped_f (id int PRIMARY KEY)'),
      sql.unsafe('CREATE TABLE piped_g (id int PRIMARY KEY)'),
      sql.unsafe('ROLLBACK'),
      sql.unsafe('CREATE TABLE piped_h (id int PRIMARY KEY)'),
      sql.unsafe('DROP TABLE piped_h'),
    ]);
    const aborted = '25P02 current transaction is aborted, commands ignored until end of transaction block';
    expect(got).toEqual(['ok', '0A000 unsupported statement: Truncate', aborted, aborted, 'ok', 'ok', 'ok']);
  });
});

describe('the row cap under pipelining', () => {
  it('undoes an autocommit write over the cap pipelined behind other queries', async () => {
    const got = await outcomes([
      sql.unsafe('SELECT 1'),
      sql.unsafe('INSERT INTO piped SELECT generate_series(1, 3001)'),
      sql.unsafe('INSERT INTO piped VALUES (0)'),
    ]);
    expect(got).toEqual(['ok', '54000 transaction row limit exceeded', 'ok']);
    expect(await ids()).toEqual([0]);
  });

  it('undoes an extended-protocol autocommit write over the cap pipelined behind other queries', async () => {
    const got = await outcomes([
      sql`SELECT ${1}::int AS one`,
      sql`INSERT INTO piped SELECT generate_series(1, ${3001}::int)`,
      sql`INSERT INTO piped VALUES (${0})`,
    ]);
    expect(got).toEqual(['ok', '54000 transaction row limit exceeded', 'ok']);
    expect(await ids()).toEqual([0]);
  });
});

describe('extended-protocol statements pipelined in a block', () => {
  it('an execution refused in place aborts the block for what is pipelined behind it (25P02)', async () => {
    // Prepared once, so later runs are sent as Bind / Execute at once, without a Describe first.
    await sql`INSERT INTO piped VALUES (${1})`;
    await sql.unsafe('BEGIN');
    await sql.unsafe('CREATE TABLE piped_i (id int PRIMARY KEY)');
    const aborted = '25P02 current transaction is aborted, commands ignored until end of transaction block';
    const got = await outcomes([
      sql`INSERT INTO piped VALUES (${2})`,
      sql.unsafe('TRUNCATE piped'),
      sql.unsafe('ROLLBACK'),
      sql.unsafe('CREATE TABLE piped_j (id int PRIMARY KEY)'),
      sql`INSERT INTO piped VALUES (${3})`,
      sql.unsafe('DROP TABLE piped_j'),
    ]);
    expect(got).toEqual([`0A000 ${DDL_AND_DML}`, aborted, 'ok', 'ok', 'ok', 'ok']);
    expect(await ids()).toEqual([1, 3]);
    expect(await tableExists('piped_i')).toBe(false);
  });
});
