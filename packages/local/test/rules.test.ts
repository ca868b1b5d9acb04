import type pg from 'pg';
import { startDsqlLocal, type DsqlLocal, type SqlContext, type SqlRules, type SqlSession, type TxStatus } from '../src/index.js';
import { connectPg, connectPostgresJs, failure } from './helpers.js';

/**
 * The proxy's side of the SQL seam, driven by small real rule sets (the rules are the input
 * here; the proxy is what is under test). DSQL's own rules are exercised at the end.
 */
const seen: { sql: string; ctx: SqlContext }[] = [];
const statuses: TxStatus[] = [];
const testRules: SqlRules = {
  bootstrapSql: ['CREATE TABLE IF NOT EXISTS seam_boot (id int)', 'INSERT INTO seam_boot VALUES (42)'],
  newSession(): SqlSession {
    let rows = 0;
    return {
      onSql(sql, ctx) {
        seen.push({ sql, ctx });
        if (/^\s*forbidden/i.test(sql)) return { kind: 'refuse', error: { code: '0A000', message: 'unsupported statement: Forbidden', hint: 'h' } };
        if (/^\s*select 'rewrite me'/i.test(sql)) return { kind: 'forward', sql: "SELECT 'rewritten' AS r", commandTag: 'CREATE INDEX' };
        if (/^\s*select 'a'; select 'b'/i.test(sql)) return { kind: 'forward', commandTags: [undefined, 'SHOW'] };
        return { kind: 'forward', writesRows: /^\s*(insert|update|delete)/i.test(sql) };
      },
      onCommandComplete(tag) {
        const m = /^(?:INSERT \d+|UPDATE|DELETE) (\d+)$/.exec(tag);
        if (!m) return undefined;
        rows += Number(m[1]);
        return rows > 3 ? { code: '54000', message: 'transaction row limit exceeded' } : undefined;
      },
      onReadyForQuery(status) {
        statuses.push(status);
        if (status === 'I') rows = 0;
      },
    };
  },
};

let dsql: DsqlLocal;
let c: pg.Client;
beforeAll(async () => {
  dsql = await startDsqlLocal({ rules: testRules });
  c = await connectPg(dsql);
  await c.query('CREATE TABLE seam (id int PRIMARY KEY)');
}, 60_000);
afterAll(async () => {
  await c?.end().catch(() => {});
  await dsql?.stop();
});
beforeEach(async () => {
  await c.query('DELETE FROM seam');
});

async function seamCount(): Promise<number> {
  return (await c.query('SELECT count(*)::int AS n FROM seam')).rows[0].n;
}

describe('SQL rules seam', () => {
  it('runs bootstrapSql once at start', async () => {
    expect((await c.query('SELECT id FROM seam_boot')).rows).toEqual([{ id: 42 }]);
  });

  it('passes every simple and extended SQL text with the transaction status', async () => {
    seen.length = 0;
    await c.query('BEGIN');
    await c.query('SELECT $1::int AS x', [1]);
    await c.query('COMMIT');
    expect(seen.map((s) => [s.sql, s.ctx.protocol, s.ctx.txStatus])).toEqual([
      ['BEGIN', 'simple', 'I'],
      ['SELECT $1::int AS x', 'extended', 'T'],
      ['COMMIT', 'simple', 'T'],
    ]);
    expect(statuses.slice(-3)).toEqual(['T', 'T', 'I']);
  });

  it('forwards rewritten SQL and overrides the command tag', async () => {
    const r = await c.query("SELECT 'rewrite me'");
    expect(r.command).toBe('CREATE');
    expect(r.rows).toEqual([{ r: 'rewritten' }]);
  });

  it('applies per-statement tags of a multi-statement query', async () => {
    const r = (await c.query("SELECT 'a'; SELECT 'b'")) as unknown as pg.QueryResult[];
    expect(r.map((x) => x.command)).toEqual(['SELECT', 'SHOW']);
  });

  it('answers a refusal outside a transaction without aborting anything', async () => {
    const err = await failure(() => c.query('FORBIDDEN thing'));
    expect(err).toEqual(expect.objectContaining({ code: '0A000', message: 'unsupported statement: Forbidden', hint: 'h' }));
    expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('a refusal inside a transaction aborts it: 25P02 afterwards, ROLLBACK ends it', async () => {
    await c.query('BEGIN');
    await c.query('INSERT INTO seam VALUES (1)');
    expect(await failure(() => c.query('FORBIDDEN thing'))).toEqual(expect.objectContaining({ code: '0A000' }));
    expect(await failure(() => c.query('SELECT 1'))).toEqual(expect.objectContaining({ code: '25P02' }));
    await c.query('ROLLBACK');
    expect(await seamCount()).toBe(0);
  });

  it('a refusal in the extended protocol skips the rest of the batch, as PostgreSQL does', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      const err = await failure(() => sql.unsafe('FORBIDDEN $1', [1]));
      expect(err).toEqual(expect.objectContaining({ code: '0A000', message: 'unsupported statement: Forbidden' }));
      expect((await sql`SELECT ${5}::int AS five`)[0]).toEqual({ five: 5 });
      const tx = await failure(() =>
        sql.begin(async (t) => {
          await t`INSERT INTO seam VALUES (${1})`;
          await t.unsafe('FORBIDDEN $1', [1]);
        }),
      );
      expect(tx).toEqual(expect.objectContaining({ code: '0A000' }));
      expect(await seamCount()).toBe(0);
    } finally {
      await sql.end();
    }
  });

  it('an onCommandComplete error inside a transaction replaces the tag and aborts it', async () => {
    await c.query('BEGIN');
    await c.query('INSERT INTO seam VALUES (1), (2)');
    const err = await failure(() => c.query('INSERT INTO seam VALUES (3), (4)'));
    expect(err).toEqual(expect.objectContaining({ code: '54000', message: 'transaction row limit exceeded' }));
    expect(await failure(() => c.query('SELECT 1'))).toEqual(expect.objectContaining({ code: '25P02' }));
    await c.query('ROLLBACK');
    expect(await seamCount()).toBe(0);
  });

  it('an onCommandComplete error on an autocommit statement undoes it (simple protocol)', async () => {
    const err = await failure(() => c.query('INSERT INTO seam VALUES (1), (2), (3), (4)'));
    expect(err).toEqual(expect.objectContaining({ code: '54000' }));
    expect(await seamCount()).toBe(0);
    const ok = await c.query('INSERT INTO seam VALUES (1), (2), (3)');
    expect(ok.rowCount).toBe(3);
    expect(await seamCount()).toBe(3);
  });

  it('an onCommandComplete error on an autocommit statement undoes it (extended protocol)', async () => {
    const err = await failure(() => c.query('INSERT INTO seam SELECT generate_series(1, $1::int)', [4]));
    expect(err).toEqual(expect.objectContaining({ code: '54000' }));
    expect(await seamCount()).toBe(0);
    const ok = await c.query('INSERT INTO seam SELECT generate_series(1, $1::int)', [3]);
    expect(ok.rowCount).toBe(3);
    expect(await seamCount()).toBe(3);
    // A batch that fails before our BEGIN runs leaves the session able to wrap the next one.
    expect(await failure(() => c.query('INSERT INTO seam VALUES ($1::int, oops)', [1]))).toEqual(expect.objectContaining({ code: '42703' }));
    expect(await failure(() => c.query('INSERT INTO seam SELECT 100 + generate_series(1, $1::int)', [4]))).toEqual(
      expect.objectContaining({ code: '54000' }),
    );
    expect(await seamCount()).toBe(3);
    // The session is idle and clean afterwards.
    expect((await c.query('SELECT current_setting($1) AS iso', ['transaction_isolation'])).rows).toEqual([{ iso: 'repeatable read' }]);
  });
});

describe("DSQL's rules by default", () => {
  let d: DsqlLocal;
  let k: pg.Client;
  beforeAll(async () => {
    d = await startDsqlLocal({ upstream: dsql.upstreamUrl, credentials: dsql.credentials });
    k = await connectPg(d);
  });
  afterAll(async () => {
    await k?.end().catch(() => {});
    await d?.stop();
  });

  it('refuses what DSQL refuses and caps modified rows at 3,000', async () => {
    expect(await failure(() => k.query('TRUNCATE seam'))).toEqual(expect.objectContaining({ code: '0A000' }));
    await k.query('CREATE TABLE bulk (id int PRIMARY KEY)');
    expect(await failure(() => k.query('INSERT INTO bulk SELECT generate_series(1, 3001)'))).toEqual(
      expect.objectContaining({ code: '54000', message: 'transaction row limit exceeded' }),
    );
    expect((await k.query('SELECT count(*)::int AS n FROM bulk')).rows).toEqual([{ n: 0 }]);
    expect((await k.query('INSERT INTO bulk SELECT generate_series(1, 3000)')).rowCount).toBe(3000);
  });
});
