/**
 * A `drop` fault on a COMMIT the proxy would refuse (a doomed transaction after an emulated OCC
 * conflict, or one past the age limit): the client never learns the outcome, but the outcome
 * must be "not committed", as on DSQL. A COMMIT the proxy would let through still commits.
 */
import type pg from 'pg';
import type postgres from 'postgres';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, connectPostgresJs, failure } from './helpers.js';

let dsql: DsqlLocal;
let a: pg.Client;
beforeAll(async () => {
  dsql = await startDsqlLocal();
  a = await connectPg(dsql);
  await a.query('CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)');
}, 60_000);
afterAll(async () => {
  await a?.end().catch(() => {});
  await dsql?.stop();
});
beforeEach(async () => {
  await a.query('DELETE FROM t');
  await a.query('INSERT INTO t VALUES (1, 0), (2, 0)');
});

const CLOSED = /terminated|closed|ECONNRESET/i;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function values(): Promise<number[]> {
  return (await a.query('SELECT v FROM t ORDER BY id')).rows.map((r: { v: number }) => r.v);
}

/** Postgres.js's error for a dropped connection. */
function closedError(err: Error & { code?: string }): string {
  return `${err.code ?? ''} ${err.message}`;
}

describe('drop on the COMMIT of a doomed transaction', () => {
  it('pg (simple protocol): nothing of the doomed transaction commits', async () => {
    const b = await connectPg(dsql);
    try {
      await a.query('BEGIN');
      await a.query('UPDATE t SET v = v + 1 WHERE id = 1');
      await b.query('BEGIN');
      expect((await b.query('UPDATE t SET v = v + 1 WHERE id = 1')).rowCount).toBe(1); // doomed
      await b.query('UPDATE t SET v = v + 1 WHERE id = 2');
      await a.query('COMMIT');
      dsql.inject({ on: 'commit', drop: true });
      expect((await failure(() => b.query('COMMIT'))).message).toMatch(CLOSED);
      expect(await values()).toEqual([1, 0]);
      // Rolled back, not left open: row 2 takes a write at once.
      await a.query('UPDATE t SET v = 5 WHERE id = 2');
    } finally {
      await b.end().catch(() => {});
    }
  });

  it('Postgres.js (prepared COMMIT): nothing of the doomed transaction commits', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      // A first transaction on this connection, so the doomed COMMIT may be a re-execution.
      await sql.begin((tx) => tx`SELECT 1`);
      await a.query('BEGIN');
      await a.query('UPDATE t SET v = v + 1 WHERE id = 1');
      const err = await failure(() =>
        sql.begin(async (tx: postgres.TransactionSql) => {
          await tx`UPDATE t SET v = v + 1 WHERE id = ${1}`; // doomed
          await tx`UPDATE t SET v = v + 1 WHERE id = ${2}`;
          await a.query('COMMIT');
          dsql.inject({ on: 'commit', drop: true });
        }),
      );
      expect(closedError(err)).toMatch(/CONNECTION_CLOSED|ECONNRESET/);
      expect(await values()).toEqual([1, 0]);
      await a.query('UPDATE t SET v = 5 WHERE id = 2');
    } finally {
      await sql.end({ timeout: 0 });
    }
  });
});

describe('drop on the COMMIT of a transaction past the age limit', () => {
  let aged: DsqlLocal;
  beforeAll(async () => {
    aged = await startDsqlLocal({ upstream: dsql.upstreamUrl, credentials: dsql.credentials, maxTransactionAgeSeconds: 0.3 });
  });
  afterAll(async () => {
    await aged?.stop();
  });

  it('pg: the aged transaction does not commit', async () => {
    const c = await connectPg(aged);
    try {
      await c.query('BEGIN');
      await c.query('UPDATE t SET v = v + 1 WHERE id = 2');
      await sleep(400);
      aged.inject({ on: 'commit', drop: true });
      expect((await failure(() => c.query('COMMIT'))).message).toMatch(CLOSED);
      expect(await values()).toEqual([0, 0]);
    } finally {
      await c.end().catch(() => {});
    }
  });

  it('Postgres.js: the aged transaction does not commit', async () => {
    const sql = await connectPostgresJs(aged);
    try {
      const err = await failure(() =>
        sql.begin(async (tx: postgres.TransactionSql) => {
          await tx`UPDATE t SET v = v + 1 WHERE id = ${2}`;
          await sleep(400);
          aged.inject({ on: 'commit', drop: true });
        }),
      );
      expect(closedError(err)).toMatch(/CONNECTION_CLOSED|ECONNRESET/);
      expect(await values()).toEqual([0, 0]);
    } finally {
      await sql.end({ timeout: 0 });
    }
  });
});

describe('drop on the COMMIT of a healthy transaction (unchanged)', () => {
  it('pg: the COMMIT runs, then the connection closes', async () => {
    const c = await connectPg(dsql);
    try {
      await c.query('BEGIN');
      await c.query('UPDATE t SET v = v + 1 WHERE id = 2');
      dsql.inject({ on: 'commit', drop: true });
      expect((await failure(() => c.query('COMMIT'))).message).toMatch(CLOSED);
      expect(await values()).toEqual([0, 1]);
    } finally {
      await c.end().catch(() => {});
    }
  });

  it('Postgres.js: the COMMIT runs, then the connection closes', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      const err = await failure(() =>
        sql.begin(async (tx: postgres.TransactionSql) => {
          await tx`UPDATE t SET v = v + 1 WHERE id = ${2}`;
          dsql.inject({ on: 'commit', drop: true });
        }),
      );
      expect(closedError(err)).toMatch(/CONNECTION_CLOSED|ECONNRESET/);
      expect(await values()).toEqual([0, 1]);
    } finally {
      await sql.end({ timeout: 0 });
    }
  });
});
