import { jest } from '@jest/globals';
import { drizzle } from 'drizzle-orm/node-postgres';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { eq } from 'drizzle-orm';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { DsqlLocal } from '@dsql/local';
import { DsqlPool } from '../src/index.js';
import { countingCredentials, startLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local?.stop();
});

const items = pgTable('orm_items', { id: text('id').primaryKey(), qty: integer('qty').notNull() });

it('is the pool of drizzle-orm/node-postgres', async () => {
  const pool = new DsqlPool({ ...local.connectionOptions(), credentials: countingCredentials(local) });
  const db = drizzle({ client: pool });
  try {
    await db.execute('CREATE TABLE IF NOT EXISTS orm_items (id text PRIMARY KEY, qty int NOT NULL)');
    await db.insert(items).values({ id: 'drizzle', qty: 2 });
    await db.transaction(async (tx) => {
      await tx.update(items).set({ qty: 3 }).where(eq(items.id, 'drizzle'));
    });
    expect(await db.select().from(items).where(eq(items.id, 'drizzle'))).toEqual([{ id: 'drizzle', qty: 3 }]);
  } finally {
    await pool.end();
  }
});

it("is the pool of Kysely's PostgresDialect", async () => {
  interface DB {
    kysely_items: { id: string; qty: number };
  }
  const pool = new DsqlPool({ ...local.connectionOptions(), credentials: countingCredentials(local) });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`CREATE TABLE IF NOT EXISTS kysely_items (id text PRIMARY KEY, qty int NOT NULL)`.execute(db);
    await db.insertInto('kysely_items').values({ id: 'kysely', qty: 1 }).execute();
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('kysely_items').set({ qty: 5 }).where('id', '=', 'kysely').execute();
    });
    expect(await db.selectFrom('kysely_items').selectAll().execute()).toEqual([{ id: 'kysely', qty: 5 }]);
  } finally {
    await db.destroy(); // ends the pool
  }
  expect(pool.ended).toBe(true);
});
