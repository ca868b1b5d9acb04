import { jest } from '@jest/globals';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { DsqlLocal } from '@dsql/local';
import { DsqlPool, type DsqlPoolClient, type DsqlPoolConfig } from '../src/index.js';
import { countingCredentials, sleep, startLocal } from './support/local.js';

// A connection that dies while a client is checked out (held by the application, by Drizzle or
// by Kysely) makes pg emit 'error' on that client. pg-pool listens only on idle clients, so
// without DsqlPool's own listener that event would end the process.

jest.setTimeout(30_000);

let local: DsqlLocal;
const pools: DsqlPool[] = [];

function newPool(extra: DsqlPoolConfig = {}, on: DsqlLocal = local): DsqlPool {
  const pool = new DsqlPool({ ...on.connectionOptions(), credentials: countingCredentials(on), max: 2, ...extra });
  pools.push(pool);
  return pool;
}

/** Collects the pool's 'error' events. */
function poolErrors(pool: DsqlPool): Array<{ err: Error; client: unknown }> {
  const seen: Array<{ err: Error; client: unknown }> = [];
  pool.on('error', (err, client) => seen.push({ err, client }));
  return seen;
}

beforeAll(async () => {
  local = await startLocal();
});

afterAll(async () => {
  await Promise.allSettled(pools.filter((p) => !p.ending).map((p) => p.end()));
  await local?.stop();
});

describe('a connection lost while a client is checked out', () => {
  it('pool.connect(): the query rejects, the pool reports the error, release() discards the client', async () => {
    const pool = newPool();
    const errors = poolErrors(pool);
    const removed: unknown[] = [];
    pool.on('remove', (c) => removed.push(c));
    const client = await pool.connect();
    local.inject({ on: 'query', drop: true, match: 'checked-out-drop' });
    await expect(client.query("SELECT 'checked-out-drop'")).rejects.toThrow(/terminated|ECONNRESET/i);
    await sleep(20); // a socket error may be followed by the close; both reach the listener
    expect(errors).toHaveLength(1);
    expect(errors[0]!.err.message).toMatch(/terminated|ECONNRESET/i);
    expect(errors[0]!.client).toBe(client);
    await expect(client.query('SELECT 1')).rejects.toMatchObject({ name: 'DsqlConnectionLostError', code: 'connection-lost' });
    client.release();
    expect(removed).toEqual([client]);
    expect(pool.listenerCount('error')).toBe(1);
    expect(client.listenerCount('error')).toBe(1); // pg-pool's own idle listener, nothing left of ours
    expect((await pool.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    expect(pool.totalCount).toBe(1);
  });

  it('between queries: the server closes a held, idle connection (DSQL max connection age)', async () => {
    const aging = await startLocal({ maxConnectionAgeSeconds: 1 });
    try {
      const pool = newPool({}, aging);
      const errors = poolErrors(pool);
      const client = await pool.connect();
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      const closedBefore = aging.stats().closedForAge;
      // Held outside any query until the server closes it.
      for (let i = 0; i < 100 && errors.length === 0; i++) await sleep(50);
      expect(aging.stats().closedForAge).toBeGreaterThan(closedBefore);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.client).toBe(client);
      await expect(client.query('SELECT 1')).rejects.toMatchObject({ name: 'DsqlConnectionLostError', code: 'connection-lost' });
      client.release();
      expect((await pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
      await pool.end();
    } finally {
      await aging.stop();
    }
  });

  it('with no pool error listener the process survives and the error reaches the query (callback checkout)', async () => {
    const pool = newPool();
    const [client, done] = await new Promise<[DsqlPoolClient, (release?: unknown) => void]>((resolve, reject) =>
      pool.connect((err, c, release) => (err ? reject(err) : resolve([c!, release]))),
    );
    local.inject({ on: 'query', drop: true, match: 'no-listener-drop' });
    await expect(client.query("SELECT 'no-listener-drop'")).rejects.toThrow(/terminated|ECONNRESET/i);
    await sleep(20);
    done(); // pg-pool's `done` is the guarded release too
    expect(client.listenerCount('error')).toBe(1);
    expect(pool.totalCount).toBe(0);
    expect((await pool.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
  });

  it("a holder's own client listener keeps the error to itself (pool.query is not reported twice)", async () => {
    const pool = newPool();
    const errors = poolErrors(pool);
    local.inject({ on: 'query', drop: true, match: 'pool-query-drop' });
    await expect(pool.query("SELECT 'pool-query-drop'")).rejects.toThrow(/terminated|ECONNRESET/i);

    const client = await pool.connect();
    const own: Error[] = [];
    client.on('error', (err) => own.push(err));
    local.inject({ on: 'query', drop: true, match: 'own-listener-drop' });
    await expect(client.query("SELECT 'own-listener-drop'")).rejects.toThrow(/terminated|ECONNRESET/i);
    await sleep(20);
    expect(own.length).toBeGreaterThan(0);
    expect(errors).toHaveLength(0);
    client.release();
    expect((await pool.query('SELECT 4 AS four')).rows).toEqual([{ four: 4 }]);
  });

  it('inside pool.transaction(): the transaction fails (or retries), the pool reports it and recovers', async () => {
    const pool = newPool();
    const errors = poolErrors(pool);
    local.inject({ on: 'query', drop: true, match: 'tx-drop' });
    let runs = 0;
    const value = await pool.transaction(async (tx) => {
      runs++;
      await tx.query("SELECT 'tx-drop'");
      return 'done';
    });
    // The connection died before COMMIT was sent: a transient failure, retried on a new connection.
    expect(value).toBe('done');
    expect(runs).toBe(2);
    expect(errors).toHaveLength(1);

    local.inject({ on: 'query', drop: true, match: 'tx-drop-once' });
    const err = await pool.transaction((tx) => tx.query("SELECT 'tx-drop-once'"), false).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/terminated|ECONNRESET/i);
    expect(errors).toHaveLength(2);
    expect((await pool.query('SELECT 5 AS five')).rows).toEqual([{ five: 5 }]);
  });

  it("inside Kysely's and Drizzle's own transactions (plain PostgresDialect / drizzle-orm)", async () => {
    const pool = newPool();
    const errors = poolErrors(pool);
    const kysely = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });
    local.inject({ on: 'query', drop: true, match: 'kysely-drop' });
    // Kysely then tries ROLLBACK on the dead client, and rethrows the DsqlConnectionLostError ("… not queryable …") from it.
    await expect(
      kysely.transaction().execute(async (trx) => {
        await sql`SELECT 'kysely-drop'`.execute(trx);
      }),
    ).rejects.toThrow(/terminated|ECONNRESET|not queryable/i);

    const db = drizzle({ client: pool });
    local.inject({ on: 'query', drop: true, match: 'drizzle-drop' });
    await expect(
      db.transaction(async (tx) => {
        await tx.execute("SELECT 'drizzle-drop'");
      }),
    ).rejects.toThrow();
    await sleep(20);
    expect(errors).toHaveLength(2);
    expect((await db.execute('SELECT 6 AS six')).rows).toEqual([{ six: 6 }]);
    expect((await sql<{ seven: number }>`SELECT 7 AS seven`.execute(kysely)).rows).toEqual([{ seven: 7 }]);
  });
});
