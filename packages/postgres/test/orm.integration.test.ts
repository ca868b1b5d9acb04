import { pgTable, text, uuid, integer } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/postgres-js';
import { eq, sql as dsqlSql } from 'drizzle-orm';
import { Kysely, type Generated } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import type { DsqlLocal } from '@dsql/local';
import { isDsqlError } from '@dsql/core';
import { dsql } from '@dsql/postgres';
import { withLocal } from './support/local.js';

let local: DsqlLocal;

withLocal((started) => (local = started));

const notes = pgTable('pg_js_orm_notes', {
  id: uuid('id').primaryKey().defaultRandom(),
  body: text('body').notNull(),
  stars: integer('stars').notNull(),
});

describe('as the client of ORMs', () => {
  it('drizzle-orm/postgres-js: queries and transactions; nested transactions fail fast', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 4, onnotice: () => undefined });
    const db = drizzle(sql);
    try {
      await db.execute(dsqlSql`create table if not exists pg_js_orm_notes (id uuid primary key default gen_random_uuid(), body text not null, stars int not null)`);
      await db.delete(notes);
      await db.insert(notes).values([{ body: 'a', stars: 1 }, { body: 'b', stars: 2 }]);
      await db.transaction(async (tx) => {
        await tx.update(notes).set({ stars: 5 }).where(eq(notes.body, 'a'));
      });
      const rows = await db.select({ body: notes.body, stars: notes.stars }).from(notes).orderBy(notes.body);
      expect(rows).toEqual([
        { body: 'a', stars: 5 },
        { body: 'b', stars: 2 },
      ]);
      // Drizzle nests with sql.savepoint, which DSQL does not have.
      const nested = await db
        .transaction(async (tx) => {
          await tx.transaction(async (inner) => {
            await inner.update(notes).set({ stars: 9 });
          });
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isDsqlError(nested, 'unsupported-feature')).toBe(true);
      const [after] = await db.select({ stars: notes.stars }).from(notes).where(eq(notes.body, 'b'));
      expect(after!.stars).toBe(2);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }, 30_000);

  it('drizzle-orm/postgres-js: a connection lost inside db.transaction rejects, and the db keeps working', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1, onnotice: () => undefined });
    const db = drizzle(sql);
    try {
      await db.execute(dsqlSql`select 1`);
      local.inject({ on: 'query', drop: true, match: 'orm_drop_marker' });
      const err = await db
        .transaction(async (tx) => {
          await tx.execute(dsqlSql`select 'orm_drop_marker'`);
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeDefined();
      const [row] = await db.execute(dsqlSql`select 5 as v`);
      expect(row!.v).toBe(5);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }, 30_000);

  it('kysely-postgres-js: queries and transactions', async () => {
    interface DB {
      pg_js_orm_notes: { id: Generated<string>; body: string; stars: number };
    }
    const sql = dsql({ ...local.connectionOptions(), max: 4, onnotice: () => undefined });
    const db = new Kysely<DB>({ dialect: new PostgresJSDialect({ postgres: sql }) });
    try {
      await sql`create table if not exists pg_js_orm_notes (id uuid primary key default gen_random_uuid(), body text not null, stars int not null)`;
      await db.deleteFrom('pg_js_orm_notes').execute();
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('pg_js_orm_notes').values({ body: 'k', stars: 7 }).execute();
      });
      const rows = await db.selectFrom('pg_js_orm_notes').select(['body', 'stars']).execute();
      expect(rows).toEqual([{ body: 'k', stars: 7 }]);
    } finally {
      await db.destroy();
    }
  }, 30_000);
});
