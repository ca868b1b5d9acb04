import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import { DsqlPool } from '@dsql/pg';
import { dsql } from '@dsql/postgres';
import { DsqlDialect, type DsqlDialectOptions } from '../../src/index.js';

export type { DsqlLocal };

/** Starts a local DSQL endpoint (the caller stops it in afterAll). */
export function startLocal(): Promise<DsqlLocal> {
  return startDsqlLocal();
}

/**
 * A realistic set of migrations, named with `prefix` so several sets can live in one database:
 * uuid-keyed tables, an async index, a column added later and a data backfill in its own
 * migration. Each `up` also records that it ran in `<prefix>_runs`, so a test can prove that
 * every migration ran exactly once.
 */
export function appMigrations(prefix: string): Record<string, Migration> {
  const t = (name: string): string => `${prefix}_${name}`;
  const ran = async (db: Kysely<any>, name: string): Promise<void> => {
    await db.insertInto(t('runs')).values({ name }).execute();
  };
  return {
    '001_runs': {
      up: async (db) => {
        await db.schema
          .createTable(t('runs'))
          .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
          .addColumn('name', 'text', (c) => c.notNull())
          .execute();
        await ran(db, '001_runs');
      },
    },
    '002_users': {
      up: async (db) => {
        await db.schema
          .createTable(t('users'))
          .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
          .addColumn('email', 'varchar(255)', (c) => c.notNull().unique())
          .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
          .execute();
        await ran(db, '002_users');
      },
      down: async (db) => {
        await db.schema.dropTable(t('users')).execute();
      },
    },
    '003_orders': {
      up: async (db) => {
        await db.schema
          .createTable(t('orders'))
          .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
          .addColumn('user_id', 'uuid', (c) => c.notNull())
          .addColumn('total', 'integer', (c) => c.notNull())
          .execute();
        await ran(db, '003_orders');
      },
    },
    '004_orders_by_user': {
      up: async (db) => {
        await db.schema.createIndex(t('orders_by_user')).on(t('orders')).columns(['user_id', 'total']).execute();
        await ran(db, '004_orders_by_user');
      },
    },
    '005_users_display_name': {
      up: async (db) => {
        // DSQL: ADD COLUMN takes no default or constraint; fill it in the next migration.
        await db.schema.alterTable(t('users')).addColumn('display_name', 'text').execute();
        await ran(db, '005_users_display_name');
      },
      down: async (db) => {
        await db.schema.alterTable(t('users')).dropColumn('display_name').execute();
      },
    },
    '006_backfill_display_name': {
      up: async (db) => {
        await db
          .updateTable(t('users'))
          .set({ display_name: sql`split_part(email, '@', 1)` })
          .where('display_name', 'is', null)
          .execute();
        await ran(db, '006_backfill_display_name');
      },
      down: async () => {}, // the column it filled is dropped by 005's down
    },
  };
}

/** The ways a test can build the dialect: shared options, a `DsqlPool`, or a Postgres.js `sql`. */
export type DriverKind = 'options' | 'pool' | 'postgres';

export const DRIVER_KINDS: DriverKind[] = ['options', 'pool', 'postgres'];

/** A Kysely on the local endpoint through the given driver; `db.destroy()` ends its pool. */
export function database<DB = any>(local: DsqlLocal, kind: DriverKind, options: DsqlDialectOptions = {}): Kysely<DB> {
  const connection = local.connectionOptions();
  switch (kind) {
    case 'options':
      return new Kysely<DB>({ dialect: new DsqlDialect({ ...connection, max: 6, ...options }) });
    case 'pool':
      return new Kysely<DB>({ dialect: new DsqlDialect({ pool: new DsqlPool({ ...connection, max: 6 }), ...options }) });
    case 'postgres':
      return new Kysely<DB>({ dialect: new DsqlDialect({ postgres: dsql({ ...connection, max: 6, onnotice: () => undefined }), ...options }) });
  }
}
