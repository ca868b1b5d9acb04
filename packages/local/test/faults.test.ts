import type pg from 'pg';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, connectPostgresJs, failure } from './helpers.js';

let dsql: DsqlLocal;
let admin: pg.Client;
beforeAll(async () => {
  dsql = await startDsqlLocal();
  admin = await connectPg(dsql);
  await admin.query('CREATE TABLE items (id int PRIMARY KEY)');
}, 60_000);
afterAll(async () => {
  await admin?.end().catch(() => {});
  await dsql?.stop();
});

async function count(): Promise<number> {
  return (await admin.query('SELECT count(*)::int AS n FROM items')).rows[0].n;
}

describe('fault injection', () => {
  it('fails the next connection with the injected error', async () => {
    dsql.inject({ on: 'connect', error: { code: '08006', message: 'unable to accept connection, waking up cluster, please retry later' } });
    const err = await failure(() => connectPg(dsql));
    expect(err).toEqual(expect.objectContaining({ code: '08006', message: 'unable to accept connection, waking up cluster, please retry later' }));
    const ok = await connectPg(dsql);
    await ok.end();
  });

  it('drops the next connection', async () => {
    dsql.inject({ on: 'connect', drop: true });
    const err = await failure(() => connectPg(dsql));
    expect(err.message).toMatch(/terminated|closed|ECONNRESET|socket/i);
  });

  it('fails matching queries `times` times, leaving others alone', async () => {
    const before = dsql.stats().injectedFaults;
    dsql.inject({ on: 'query', match: /FROM items/, error: { code: 'XX000', message: 'server unavailable' }, times: 2 });
    const c = await connectPg(dsql);
    try {
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      for (let i = 0; i < 2; i++) {
        expect(await failure(() => c.query('SELECT * FROM items'))).toEqual(expect.objectContaining({ code: 'XX000', message: 'server unavailable' }));
      }
      expect((await c.query('SELECT * FROM items')).rows).toEqual([]);
      expect(dsql.stats().injectedFaults).toBe(before + 2);
    } finally {
      await c.end();
    }
  });

  it('an injected query error inside a transaction aborts it (25P02 afterwards)', async () => {
    dsql.inject({ on: 'query', match: 'INSERT', error: { code: 'XX000', message: 'server unavailable' } });
    const c = await connectPg(dsql);
    try {
      await c.query('BEGIN');
      expect(await failure(() => c.query('INSERT INTO items VALUES (1)'))).toEqual(expect.objectContaining({ code: 'XX000' }));
      expect(await failure(() => c.query('SELECT 1'))).toEqual(expect.objectContaining({ code: '25P02' }));
      await c.query('ROLLBACK');
    } finally {
      await c.end();
    }
  });

  it('drops the connection on a matching query without running it', async () => {
    dsql.inject({ on: 'query', match: 'INSERT INTO items', drop: true });
    const c = await connectPg(dsql);
    const err = await failure(() => c.query('INSERT INTO items VALUES (2)'));
    expect(err.message).toMatch(/terminated|closed/i);
    expect(await count()).toBe(0);
  });

  it('fails a COMMIT with the injected error and rolls the transaction back', async () => {
    dsql.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction (OC000)' } });
    const c = await connectPg(dsql);
    try {
      await c.query('BEGIN');
      await c.query('INSERT INTO items VALUES (3)');
      expect(await failure(() => c.query('COMMIT'))).toEqual(expect.objectContaining({ code: '40001' }));
      expect(await count()).toBe(0);
      expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await c.end();
    }
  });

  it('drop on commit forwards the COMMIT, then closes before the answer (outcome unknown, but committed)', async () => {
    dsql.inject({ on: 'commit', drop: true });
    const c = await connectPg(dsql);
    await c.query('BEGIN');
    await c.query('INSERT INTO items VALUES (4)');
    const err = await failure(() => c.query('COMMIT'));
    expect(err.message).toMatch(/terminated|closed/i);
    expect(await count()).toBe(1);
    await admin.query('DELETE FROM items');
  });

  it('drop on commit works for Postgres.js transactions too', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      dsql.inject({ on: 'commit', drop: true });
      const err = await failure(() => sql.begin((tx) => tx`INSERT INTO items VALUES (5)`));
      expect(err).toEqual(expect.objectContaining({ code: expect.stringMatching(/CONNECTION_CLOSED|ECONNRESET/) }));
      expect(await count()).toBe(1);
    } finally {
      // The dropped connection never answered Terminate: do not wait for it.
      await sql.end({ timeout: 0 });
      await admin.query('DELETE FROM items');
    }
  });

  it('applies to every execution of a prepared statement, not only its Parse', async () => {
    const sql = await connectPostgresJs(dsql, { prepare: true });
    try {
      expect(await sql`SELECT count(*)::int AS n FROM items WHERE id > ${0}`).toEqual([{ n: 0 }]);
      dsql.inject({ on: 'query', match: 'FROM items WHERE id >', error: { code: 'XX000', message: 'server unavailable' } });
      expect(await failure(() => sql`SELECT count(*)::int AS n FROM items WHERE id > ${0}`)).toEqual(
        expect.objectContaining({ code: 'XX000', message: 'server unavailable' }),
      );
      expect(await sql`SELECT count(*)::int AS n FROM items WHERE id > ${0}`).toEqual([{ n: 0 }]);
    } finally {
      await sql.end();
    }
  });

  it('fails a prepared COMMIT run again, and ends its transaction', async () => {
    const c = await connectPg(dsql);
    const commit = { name: 'commit_stmt', text: 'COMMIT' };
    try {
      await c.query('BEGIN');
      await c.query('INSERT INTO items VALUES (10)');
      await c.query(commit);
      await c.query('BEGIN');
      await c.query('INSERT INTO items VALUES (11)');
      dsql.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction (OC000)' } });
      expect(await failure(() => c.query(commit))).toEqual(expect.objectContaining({ code: '40001' }));
      expect((await c.query('SELECT id FROM items ORDER BY id')).rows).toEqual([{ id: 10 }]);
      await c.query('BEGIN');
      await c.query('INSERT INTO items VALUES (12)');
      await c.query(commit);
      expect(await count()).toBe(2);
    } finally {
      await c.end();
      await admin.query('DELETE FROM items');
    }
  });

  it('validates faults', () => {
    expect(() => dsql.inject({ on: 'nope' as 'query', drop: true })).toThrow(/'on' must be 'connect', 'query' or 'commit'/);
    expect(() => dsql.inject({ on: 'query' })).toThrow(/give 'error/);
    expect(() => dsql.inject({ on: 'query', error: { code: 'bad', message: 'x' } })).toThrow(/5-character SQLSTATE/);
    expect(() => dsql.inject({ on: 'connect', drop: true, match: 'x' })).toThrow(/only to 'query' and 'commit'/);
  });
});
