/**
 * A COMMIT that fails ends its transaction (rolled back, ReadyForQuery 'I'), as on DSQL and
 * PostgreSQL: the next transaction on the same connection must work. Checked for each way the
 * emulator fails a COMMIT (an injected error, a doomed OCC transaction, the transaction age
 * limit) and each way drivers send it (pg's simple `COMMIT`, Postgres.js's prepared `commit`).
 */
import type pg from 'pg';
import type postgres from 'postgres';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, connectPostgresJs, failure } from './helpers.js';

let dsql: DsqlLocal;
let admin: pg.Client;
beforeAll(async () => {
  dsql = await startDsqlLocal();
  admin = await connectPg(dsql);
  await admin.query('CREATE TABLE ledger (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)');
}, 60_000);
afterAll(async () => {
  await admin?.end().catch(() => {});
  await dsql?.stop();
});
beforeEach(async () => {
  await admin.query('DELETE FROM ledger');
});

const INJECTED = { code: '40001', message: 'change conflicts with another transaction (OC000)' };

async function ids(): Promise<number[]> {
  return (await admin.query('SELECT id FROM ledger ORDER BY id')).rows.map((r: { id: number }) => r.id);
}

/** A pg transaction inserting `id`, committed with a simple `COMMIT`. */
async function pgInsert(c: pg.Client, id: number): Promise<void> {
  await c.query('BEGIN');
  await c.query('INSERT INTO ledger (id) VALUES ($1)', [id]);
  await c.query('COMMIT');
}

function jsInsert(sql: postgres.Sql, id: number): Promise<unknown> {
  return sql.begin((tx) => tx`INSERT INTO ledger (id) VALUES (${id})`);
}

describe('an injected COMMIT error ends the transaction', () => {
  it('pg (simple COMMIT): the next transactions on the connection commit', async () => {
    const c = await connectPg(dsql);
    try {
      dsql.inject({ on: 'commit', error: INJECTED });
      expect(await failure(() => pgInsert(c, 1))).toEqual(expect.objectContaining(INJECTED));
      await pgInsert(c, 2);
      await pgInsert(c, 3);
      expect(await ids()).toEqual([2, 3]);
    } finally {
      await c.end();
    }
  });

  it("Postgres.js: a failed first COMMIT does not poison the connection's prepared commit", async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      dsql.inject({ on: 'commit', error: INJECTED });
      expect(await failure(() => jsInsert(sql, 1))).toEqual(expect.objectContaining(INJECTED));
      await jsInsert(sql, 2);
      await jsInsert(sql, 3);
      expect(await ids()).toEqual([2, 3]);
    } finally {
      await sql.end();
    }
  });

  it('Postgres.js without prepared statements (unnamed): the next transaction commits', async () => {
    const sql = await connectPostgresJs(dsql, { prepare: false });
    try {
      dsql.inject({ on: 'commit', error: INJECTED });
      expect(await failure(() => jsInsert(sql, 1))).toEqual(expect.objectContaining(INJECTED));
      await jsInsert(sql, 2);
      expect(await ids()).toEqual([2]);
    } finally {
      await sql.end();
    }
  });

  it('Postgres.js: a failed re-executed COMMIT, then the next transactions commit', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      await jsInsert(sql, 1);
      dsql.inject({ on: 'commit', error: INJECTED });
      expect(await failure(() => jsInsert(sql, 2))).toEqual(expect.objectContaining(INJECTED));
      await jsInsert(sql, 3);
      expect(await ids()).toEqual([1, 3]);
    } finally {
      await sql.end();
    }
  });

  it('pg with a named COMMIT prepared in the failing transaction: later executions commit', async () => {
    const c = await connectPg(dsql);
    const commit = { name: 'commit_first', text: 'COMMIT' };
    try {
      dsql.inject({ on: 'commit', error: INJECTED });
      await c.query('BEGIN');
      await c.query('INSERT INTO ledger (id) VALUES (1)');
      expect(await failure(() => c.query(commit))).toEqual(expect.objectContaining(INJECTED));
      await c.query('BEGIN');
      await c.query('INSERT INTO ledger (id) VALUES (2)');
      await c.query(commit);
      expect(await ids()).toEqual([2]);
    } finally {
      await c.end();
    }
  });
});

describe("a doomed (OCC) transaction's COMMIT ends it", () => {
  /** Makes `loser` meet admin's row lock on row 1 inside its transaction, then lets admin commit. */
  async function conflict(run: (unlock: () => Promise<void>) => Promise<unknown>): Promise<Error & { code?: string }> {
    await admin.query('INSERT INTO ledger (id) VALUES (1)');
    await admin.query('BEGIN');
    await admin.query('UPDATE ledger SET n = 1 WHERE id = 1');
    let open = true;
    const unlock = async (): Promise<void> => {
      if (open) await admin.query('COMMIT');
      open = false;
    };
    try {
      return await failure(() => run(unlock));
    } finally {
      await unlock();
    }
  }

  it('pg: the loser gets 40001 at COMMIT, then commits its next transaction', async () => {
    const c = await connectPg(dsql);
    try {
      const err = await conflict(async (unlock) => {
        await c.query('BEGIN');
        await c.query('UPDATE ledger SET n = 2 WHERE id = 1');
        await unlock();
        await c.query('COMMIT');
      });
      expect(err).toEqual(expect.objectContaining(INJECTED));
      await pgInsert(c, 2);
      expect(await ids()).toEqual([1, 2]);
    } finally {
      await c.end();
    }
  });

  it('Postgres.js, commit prepared in the doomed transaction: the next transactions commit', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      const err = await conflict((unlock) =>
        sql.begin(async (tx) => {
          await tx`UPDATE ledger SET n = 2 WHERE id = 1`;
          await unlock();
        }),
      );
      expect(err).toEqual(expect.objectContaining(INJECTED));
      await jsInsert(sql, 2);
      await jsInsert(sql, 3);
      expect(await ids()).toEqual([1, 2, 3]);
    } finally {
      await sql.end();
    }
  });
});

describe('a COMMIT past the transaction age limit ends the transaction', () => {
  let aged: DsqlLocal;
  beforeAll(async () => {
    aged = await startDsqlLocal({ upstream: dsql.upstreamUrl, credentials: dsql.credentials, maxTransactionAgeSeconds: 0.3 });
  });
  afterAll(async () => {
    await aged?.stop();
  });
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const AGED = expect.objectContaining({ code: '54000', message: 'transaction age limit of 0.3s exceeded' });

  it('pg: 54000 at COMMIT, then the next transaction commits', async () => {
    const c = await connectPg(aged);
    try {
      await c.query('BEGIN');
      await c.query('INSERT INTO ledger (id) VALUES (1)');
      await sleep(400);
      expect(await failure(() => c.query('COMMIT'))).toEqual(AGED);
      await pgInsert(c, 2);
      expect(await ids()).toEqual([2]);
    } finally {
      await c.end();
    }
  });

  it('Postgres.js, commit prepared in the aged transaction: the next transactions commit', async () => {
    const sql = await connectPostgresJs(aged);
    try {
      const err = await failure(() =>
        sql.begin(async (tx) => {
          await tx`INSERT INTO ledger (id) VALUES (1)`;
          await sleep(400);
        }),
      );
      expect(err).toEqual(AGED);
      await jsInsert(sql, 2);
      await jsInsert(sql, 3);
      expect(await ids()).toEqual([2, 3]);
    } finally {
      await sql.end();
    }
  });
});
