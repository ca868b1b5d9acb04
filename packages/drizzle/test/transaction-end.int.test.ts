// The end of a node-postgres transaction is core's runner's (runTransaction): BEGIN carries
// Drizzle's options, a COMMIT answered ROLLBACK is an error, and the pool gets its client back
// once. Against @dsql/local (a real PostgreSQL behind DSQL's rules).
import { jest } from '@jest/globals';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { TokenProvider } from '@dsql/core';
import { DsqlClient } from '@dsql/pg';
import { drizzle, transaction } from '@dsql/drizzle';
import { drizzle as drizzlePostgresJs } from '@dsql/drizzle/postgres-js';
import { adminQuery, startDsqlLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(30_000);

let local: DsqlLocal;

beforeAll(async () => {
  local = await startDsqlLocal();
  await adminQuery(local, 'DROP TABLE IF EXISTS end_t; CREATE TABLE end_t (id int PRIMARY KEY)');
});

afterAll(async () => {
  await local?.stop();
});

/** Polls `condition` every 20 ms for at most 10 s; fails naming what was awaited. */
async function waitUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('a COMMIT answered ROLLBACK (an error caught inside the callback) rejects with DsqlTransactionRolledBackError, once', async () => {
  const db = drizzle({ connection: { ...local.connectionOptions(), max: 2 } });
  try {
    let attempts = 0;
    const outcome = await transaction(db, async (tx) => {
      attempts++;
      await tx.execute(sql`INSERT INTO end_t VALUES (1)`);
      await tx.execute(sql`SELECT 1/0`).catch(() => undefined); // caught: the transaction is aborted all the same
    }).catch((e: unknown) => e);
    expect(outcome).toMatchObject({ name: 'DsqlTransactionRolledBackError' });
    expect(attempts).toBe(1);
    expect(await adminQuery(local, 'SELECT count(*)::int AS n FROM end_t')).toEqual([{ n: 0 }]);
    // The client went back to the pool and serves the next transaction.
    await db.transaction((tx) => tx.execute(sql`INSERT INTO end_t VALUES (2)`));
    expect(db.$client.totalCount - db.$client.idleCount).toBe(0);
  } finally {
    await db.$client.end();
    await adminQuery(local, 'DELETE FROM end_t');
  }
});

it("BEGIN carries Drizzle's options on node-postgres (a read-only transaction refuses writes); the isolation level is checked first", async () => {
  const db = drizzle({ connection: local.connectionOptions() });
  try {
    expect(await db.transaction((tx) => tx.execute(sql`SELECT 1 AS one`), { accessMode: 'read only' })).toMatchObject({ rows: [{ one: 1 }] });
    const write = await db.transaction((tx) => tx.execute(sql`INSERT INTO end_t VALUES (3)`), { accessMode: 'read only' }).catch((e: unknown) => e);
    expect(write).toMatchObject({ cause: { code: '25006' } }); // read_only_sql_transaction
    await expect(db.transaction(async () => 1, { isolationLevel: 'repeatable read' })).resolves.toBe(1);
    await expect(db.transaction(async () => 1, { isolationLevel: 'serializable' })).rejects.toMatchObject({ name: 'DsqlUnsupportedError' });
  } finally {
    await db.$client.end();
  }
});

it('a single client (not a pool) runs its transactions in place and is never released nor closed', async () => {
  const client = new DsqlClient(local.connectionOptions());
  await client.connect();
  const db = drizzle(client);
  try {
    await transaction(db, (tx) => tx.execute(sql`INSERT INTO end_t VALUES (4)`));
    expect((await client.query('SELECT count(*)::int AS n FROM end_t WHERE id = 4')).rows).toEqual([{ n: 1 }]);
  } finally {
    await client.end();
    await adminQuery(local, 'DELETE FROM end_t');
  }
});

it('Postgres.js refuses transaction options (Drizzle would send SET TRANSACTION)', async () => {
  const db = drizzlePostgresJs({ connection: { ...local.connectionOptions(), onnotice: () => undefined } });
  try {
    await expect(db.transaction(async () => 1, { accessMode: 'read only' })).rejects.toMatchObject({ name: 'DsqlUnsupportedError' });
    await expect(db.transaction(async () => 1)).resolves.toBe(1);
  } finally {
    await db.$client.end({ timeout: 5 });
  }
});

it("a plain pg.Pool's client lost while its transaction callback waits: the transaction rejects, the process stays up, the client is closed", async () => {
  const o = local.connectionOptions();
  const tokens = TokenProvider.shared({ host: o.host, region: o.region, user: o.user, credentials: o.credentials });
  const pool = new pg.Pool({ host: o.hostaddr, port: o.port, user: o.user, database: o.database, password: () => tokens.getToken(), ssl: { ca: o.ssl.ca, servername: o.host }, max: 2 });
  pool.on('error', () => undefined); // idle clients: pg-pool's own business
  const db = drizzle(pool);
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const outcome = await transaction(
      db,
      async (tx) => {
        const { pid } = (await tx.execute(sql`SELECT pg_backend_pid() AS pid`)).rows[0] as { pid: number };
        // The server closes the connection while the callback holds it between two queries.
        await adminQuery(local, `SELECT pg_terminate_backend(${Number(pid)})`);
        await waitUntil(async () => (await adminQuery(local, `SELECT 1 FROM pg_stat_activity WHERE pid = ${Number(pid)}`)).length === 0, 'the backend to exit');
        await tx.execute(sql`SELECT 1`);
      },
      false,
    ).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(Error);
    expect(uncaught).toEqual([]);
    expect(pool.totalCount - pool.idleCount).toBe(0);
  } finally {
    process.off('uncaughtException', onUncaught);
    await pool.end();
  }
});
