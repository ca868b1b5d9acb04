import type pg from 'pg';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, connectPostgresJs, failure } from './helpers.js';

let dsql: DsqlLocal;
let a: pg.Client;
let b: pg.Client;
beforeAll(async () => {
  dsql = await startDsqlLocal();
  a = await connectPg(dsql);
  b = await connectPg(dsql);
  await a.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
}, 60_000);
afterAll(async () => {
  await a?.end().catch(() => {});
  await b?.end().catch(() => {});
  await dsql?.stop();
});
beforeEach(async () => {
  await a.query('DELETE FROM accounts');
  await a.query('INSERT INTO accounts VALUES (1, 100), (2, 200)');
});

const OCC = expect.objectContaining({ code: '40001', message: 'change conflicts with another transaction (OC000)' });

async function balance(id: number): Promise<number> {
  return (await a.query('SELECT balance FROM accounts WHERE id = $1', [id])).rows[0].balance;
}

describe('optimistic concurrency', () => {
  it('fails exactly one of two writers to one row, at COMMIT, without waiting', async () => {
    const before = dsql.stats().occConflicts;
    await a.query('BEGIN');
    expect((await a.query('UPDATE accounts SET balance = balance + 1 WHERE id = 1')).rowCount).toBe(1);
    await b.query('BEGIN');
    const started = Date.now();
    const bUpdate = await b.query('UPDATE accounts SET balance = balance + 10 WHERE id = 1');
    expect(bUpdate.command).toBe('UPDATE');
    expect(Date.now() - started).toBeLessThan(1000);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    expect(await balance(1)).toBe(101);
    expect(dsql.stats().occConflicts).toBe(before + 1);
    // The loser's session is usable afterwards.
    expect((await b.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('keeps the loser usable inside its doomed transaction, then fails its COMMIT', async () => {
    await a.query('BEGIN');
    await a.query('UPDATE accounts SET balance = 0 WHERE id = 1');
    await b.query('BEGIN');
    await b.query('UPDATE accounts SET balance = 5 WHERE id = 1');
    await b.query('UPDATE accounts SET balance = 7 WHERE id = 2');
    expect((await b.query('SELECT balance FROM accounts WHERE id = 2')).rows).toEqual([{ balance: 7 }]);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    // Nothing of the loser survived, not even its later write to another row.
    expect(await balance(1)).toBe(0);
    expect(await balance(2)).toBe(200);
  });

  it('the first to COMMIT wins, even if it wrote second (as on DSQL)', async () => {
    const before = dsql.stats().occConflicts;
    await a.query('BEGIN');
    await a.query('UPDATE accounts SET balance = 1 WHERE id = 1');
    await b.query('BEGIN');
    await b.query('UPDATE accounts SET balance = 2 WHERE id = 1');
    // B commits while A still holds the row: B got there first, A loses at its COMMIT.
    await b.query('COMMIT');
    expect((await b.query('SELECT balance FROM accounts WHERE id = 1')).rows).toEqual([{ balance: 2 }]);
    // A, doomed, still reads its own snapshot (without its write, which had to give way).
    expect((await a.query('SELECT balance FROM accounts WHERE id = 1')).rows).toEqual([{ balance: 100 }]);
    expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
    expect(await balance(1)).toBe(2);
    expect(dsql.stats().occConflicts).toBe(before + 1);
  });

  it('a write after a concurrent commit (stale snapshot) fails at COMMIT', async () => {
    await b.query('BEGIN');
    expect(await (await b.query('SELECT balance FROM accounts WHERE id = 2')).rows[0].balance).toBe(200);
    await a.query('UPDATE accounts SET balance = 250 WHERE id = 2');
    await b.query('UPDATE accounts SET balance = balance + 1 WHERE id = 2');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    expect(await balance(2)).toBe(250);
  });

  it('SELECT … FOR UPDATE conflicting with a write still returns rows, then fails at COMMIT', async () => {
    await a.query('BEGIN');
    await a.query('UPDATE accounts SET balance = 3 WHERE id = 1');
    await b.query('BEGIN');
    const r = await b.query('SELECT id, balance FROM accounts WHERE id = 1 FOR UPDATE');
    expect(r.rows).toEqual([{ id: 1, balance: 100 }]);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
  });

  it('an extended-protocol SELECT … FOR UPDATE conflicting with a write returns its rows (parameters, result formats), then fails at COMMIT', async () => {
    await a.query('BEGIN');
    await a.query('UPDATE accounts SET balance = 3 WHERE id = 1');
    await b.query('BEGIN');
    // pg: parameters → Parse/Bind/Describe/Execute/Sync on the unnamed statement and portal.
    const r = await b.query('SELECT id, balance, $2::text AS tag FROM accounts WHERE id = $1 FOR UPDATE', [1, 'x']);
    expect(r.rows).toEqual([{ id: 1, balance: 100, tag: 'x' }]);
    expect(r.rowCount).toBe(1);
    expect(r.fields.map((f) => f.name)).toEqual(['id', 'balance', 'tag']);
    // Later statements work; the transaction still fails at COMMIT and writes nothing.
    expect((await b.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [2])).rowCount).toBe(1);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    expect(await balance(1)).toBe(3);
    expect(await balance(2)).toBe(200);
  });

  it('Postgres.js (named prepared statements): a conflicting SELECT … FOR UPDATE returns its rows and the transaction fails at COMMIT', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      // Prepare the statement once outside the conflict, so the conflicting run re-executes it.
      await sql.begin(async (tx) => tx`SELECT id, balance FROM accounts WHERE id = ${2} FOR UPDATE`);
      await a.query('BEGIN');
      await a.query('UPDATE accounts SET balance = 4 WHERE id = 1');
      let seen: unknown;
      const attempt = sql.begin(async (tx) => {
        seen = [...(await tx`SELECT id, balance FROM accounts WHERE id = ${1} FOR UPDATE`)];
        await a.query('COMMIT');
      });
      expect(await failure(() => attempt)).toEqual(OCC);
      expect(seen).toEqual([{ id: 1, balance: 100 }]);
      expect(await balance(1)).toBe(4);
      // The session is fine afterwards, and the proxy's replay statement is gone.
      expect([...(await sql`SELECT id FROM accounts WHERE id = ${1} FOR UPDATE`)]).toEqual([{ id: 1 }]);
      expect([...(await sql`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'dsql_local_replay'`)]).toEqual([{ n: 0 }]);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it('an UPDATE … RETURNING conflicting with a write returns the rows it would have (simple protocol), then fails at COMMIT', async () => {
    await a.query('BEGIN');
    await a.query('UPDATE accounts SET balance = 3 WHERE id = 1');
    await b.query('BEGIN');
    const r = await b.query('UPDATE accounts SET balance = balance + 5 WHERE id = 1 RETURNING id, balance, balance * 2 AS twice');
    expect(r.command).toBe('UPDATE');
    expect(r.rowCount).toBe(1);
    expect(r.rows).toEqual([{ id: 1, balance: 105, twice: 210 }]);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    expect(await balance(1)).toBe(3);
  });

  it('UPDATE / DELETE … RETURNING over the extended protocol (parameters, qualified names, *) return their rows; nothing is applied', async () => {
    await a.query('BEGIN');
    await a.query('UPDATE accounts SET balance = 3 WHERE id = 1');
    await b.query('BEGIN');
    const updated = await b.query('UPDATE public.accounts SET balance = $1 WHERE public.accounts.id = $2 RETURNING public.accounts.id, public.accounts.balance', [77, 1]);
    expect([updated.command, updated.rowCount, updated.rows]).toEqual(['UPDATE', 1, [{ id: 1, balance: 77 }]]);
    const all = await b.query('UPDATE accounts AS acc SET balance = acc.balance - $1 WHERE acc.id = $2 RETURNING *', [1, 1]);
    expect(all.rows).toEqual([{ id: 1, balance: 99 }]);
    const deleted = await b.query('DELETE FROM accounts WHERE id = $1 RETURNING id', [1]);
    expect([deleted.command, deleted.rowCount, deleted.rows]).toEqual(['DELETE', 1, [{ id: 1 }]]);
    await a.query('COMMIT');
    expect(await failure(() => b.query('COMMIT'))).toEqual(OCC);
    expect(await balance(1)).toBe(3);
  });

  it('Postgres.js: a conflicting UPDATE … RETURNING * returns the row and the transaction fails at COMMIT', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      await a.query('BEGIN');
      await a.query('UPDATE accounts SET balance = 4 WHERE id = 1');
      let seen: unknown;
      const attempt = sql.begin(async (tx) => {
        seen = [...(await tx`UPDATE accounts SET balance = balance + ${10} WHERE id = ${1} RETURNING *`)];
        await a.query('COMMIT');
      });
      expect(await failure(() => attempt)).toEqual(OCC);
      expect(seen).toEqual([{ id: 1, balance: 110 }]);
      expect(await balance(1)).toBe(4);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it('an autocommit write commits at once: an open transaction that wrote the row first loses at its COMMIT', async () => {
    await a.query('BEGIN');
    await a.query('UPDATE accounts SET balance = 9 WHERE id = 1');
    const started = Date.now();
    expect((await b.query('UPDATE accounts SET balance = 10 WHERE id = 1')).rowCount).toBe(1);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
    expect(await balance(1)).toBe(10);
  });

  it.each([
    ['simple protocol', false],
    ['extended protocol', true],
  ] as const)('an autocommit SELECT … FOR UPDATE commits at once: it answers, and an open transaction that wrote the row loses at its COMMIT (%s)', async (_name, extended) => {
    await a.query('BEGIN');
    await a.query('UPDATE accounts SET balance = 9 WHERE id = 1');
    const locked = extended ? await b.query('SELECT balance FROM accounts WHERE id = $1 FOR UPDATE', [1]) : await b.query('SELECT balance FROM accounts WHERE id = 1 FOR UPDATE');
    expect(locked.rows).toEqual([{ balance: 100 }]);
    expect(await failure(() => a.query('COMMIT'))).toEqual(OCC);
    expect(await balance(1)).toBe(100);
  });

  it('a read waits for a concurrent schema change (see schema-changes.test.ts), at most 5 s: then it fails with 40001 OC001', async () => {
    await a.query('BEGIN');
    await a.query('ALTER TABLE accounts ADD COLUMN note text');
    expect(await failure(() => b.query('SELECT * FROM accounts'))).toEqual(
      expect.objectContaining({ code: '40001', message: 'schema has been updated by another transaction (OC001)' }),
    );
    await a.query('ROLLBACK');
    expect((await b.query('SELECT count(*)::int AS n FROM accounts')).rows).toEqual([{ n: 2 }]);
  });

  it('works the same through Postgres.js (extended protocol)', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      await a.query('BEGIN');
      await a.query('UPDATE accounts SET balance = 11 WHERE id = 1');
      const err = await failure(() =>
        sql.begin(async (tx) => {
          await tx`UPDATE accounts SET balance = 12 WHERE id = 1`;
          await a.query('COMMIT');
        }),
      );
      expect(err).toEqual(expect.objectContaining({ code: '40001', message: 'change conflicts with another transaction (OC000)' }));
      expect(await balance(1)).toBe(11);
      expect((await sql`SELECT 1 AS ok`)[0]).toEqual({ ok: 1 });
    } finally {
      await sql.end();
    }
  });
});
