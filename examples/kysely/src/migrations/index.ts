import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The bank's migrations, for Kysely's `Migrator`. On DSQL each statement runs in its own
 * transaction (one DDL per transaction, never DDL with DML): `@dsql/kysely` runs migrations
 * that way, takes the Migrator's lock without advisory locks, and turns `createIndex` into
 * `CREATE INDEX ASYNC`, waiting for the job.
 */
export const migrations: Record<string, Migration> = {
  '001_schema': {
    up: async (db: Kysely<unknown>) => {
      await db.schema.createSchema('bank_kysely').ifNotExists().execute();
    },
  },
  '002_accounts': {
    up: async (db: Kysely<unknown>) => {
      await db.schema
        .withSchema('bank_kysely')
        .createTable('accounts')
        .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('balance', 'integer', (c) => c.notNull())
        .execute();
    },
    down: async (db: Kysely<unknown>) => {
      await db.schema.withSchema('bank_kysely').dropTable('accounts').execute();
    },
  },
  '003_transfers': {
    up: async (db: Kysely<unknown>) => {
      await db.schema
        .withSchema('bank_kysely')
        .createTable('transfers')
        .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('from_account', 'uuid', (c) => c.notNull())
        .addColumn('to_account', 'uuid', (c) => c.notNull())
        .addColumn('amount', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
    down: async (db: Kysely<unknown>) => {
      await db.schema.withSchema('bank_kysely').dropTable('transfers').execute();
    },
  },
  '004_transfers_from_account': {
    up: async (db: Kysely<unknown>) => {
      await db.schema.withSchema('bank_kysely').createIndex('transfers_from_account').on('transfers').column('from_account').execute();
    },
    down: async (db: Kysely<unknown>) => {
      await db.schema.withSchema('bank_kysely').dropIndex('transfers_from_account').execute();
    },
  },
};
