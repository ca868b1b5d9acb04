import { jest } from '@jest/globals';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator, type MigrationProvider } from 'kysely/migration';
import { DsqlPool } from '@dsql/pg';
import { appMigrations, database, startLocal, type DriverKind, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local?.stop();
});

const provider = (prefix: string): MigrationProvider => ({ getMigrations: async () => appMigrations(prefix) });

async function runs(db: Kysely<any>, prefix: string): Promise<string[]> {
  const rows = await db.selectFrom(`${prefix}_runs`).select('name').orderBy('name').execute();
  return rows.map((r) => r.name as string);
}

const ALL = ['001_runs', '002_users', '003_orders', '004_orders_by_user', '005_users_display_name', '006_backfill_display_name'];

it("Kysely's PostgresDialect cannot migrate on DSQL (the failure this package fixes)", async () => {
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new DsqlPool({ ...local.connectionOptions(), max: 2 }) }) });
  try {
    const result = await new Migrator({ db, provider: provider('plain'), migrationTableName: 'plain_migration', migrationLockTableName: 'plain_migration_lock' }).migrateToLatest();
    expect(String((result.error as Error)?.message)).toMatch(/pg_advisory_lock|not supported/);
    expect(result.results).toBeUndefined();
  } finally {
    await db.destroy();
  }
});

describe.each<DriverKind>(['options', 'postgres'])('Migrator through the %s driver', (kind) => {
  const prefix = `m_${kind}`;
  const tables = { migrationTableName: `${prefix}_migration`, migrationLockTableName: `${prefix}_migration_lock` };

  it('applies realistic migrations (uuid keys, async index, added column, backfill), then is a no-op', async () => {
    const db = database(local, kind);
    try {
      const migrator = new Migrator({ db, provider: provider(prefix), ...tables });
      const first = await migrator.migrateTo('003_orders');
      expect(first.error).toBeUndefined();
      // Data for the backfill to act on.
      await db.insertInto(`${prefix}_users`).values([{ email: 'ada@example.com' }, { email: 'alan@example.com' }]).execute();

      const rest = await migrator.migrateToLatest();
      expect(rest.error).toBeUndefined();
      expect(rest.results?.map((r) => [r.migrationName, r.status])).toEqual([
        ['004_orders_by_user', 'Success'],
        ['005_users_display_name', 'Success'],
        ['006_backfill_display_name', 'Success'],
      ]);
      expect(await runs(db, prefix)).toEqual(ALL);

      // The index was created ASYNC, and its job had finished when the migration moved on.
      const jobs = await sql<{ status: string }>`select status from sys.jobs where object_name = ${`${prefix}_orders_by_user`}`.execute(db);
      expect(jobs.rows).toEqual([{ status: 'completed' }]);
      const backfilled = await db.selectFrom(`${prefix}_users`).select(['email', 'display_name']).orderBy('email').execute();
      expect(backfilled).toEqual([
        { email: 'ada@example.com', display_name: 'ada' },
        { email: 'alan@example.com', display_name: 'alan' },
      ]);

      expect(await migrator.migrateToLatest()).toEqual({ results: [] });
      expect(await runs(db, prefix)).toEqual(ALL);
      const executed = await db.selectFrom(tables.migrationTableName).select('name').orderBy('name').execute();
      expect(executed.map((r) => r.name)).toEqual(ALL);
      const lock = await db.selectFrom(tables.migrationLockTableName).select(['id', 'is_locked']).execute();
      expect(lock).toEqual([{ id: 'migration_lock', is_locked: 0 }]);

      // Down migrations run statement by statement too.
      const down = await migrator.migrateTo('004_orders_by_user');
      expect(down.error).toBeUndefined();
      expect(down.results?.map((r) => [r.migrationName, r.direction, r.status])).toEqual([
        ['006_backfill_display_name', 'Down', 'Success'],
        ['005_users_display_name', 'Down', 'Success'],
      ]);
      const users = (await db.introspection.getTables()).find((t) => t.name === `${prefix}_users`);
      expect(users?.columns.map((c) => c.name)).toEqual(['id', 'email', 'created_at']);
      const after = await db.selectFrom(tables.migrationTableName).select('name').orderBy('name').execute();
      expect(after.map((r) => r.name)).toEqual(ALL.slice(0, 4));
    } finally {
      await db.destroy();
    }
  });

  it('two Migrators started at once apply each migration exactly once', async () => {
    const a = database(local, kind);
    const b = database(local, kind);
    // The first migration takes a while, so whichever Migrator gets the lock holds it while the
    // other is certainly running too (and must wait, then find nothing left to do).
    const migrations = appMigrations(`c_${kind}`);
    const first = migrations['001_runs']!;
    migrations['001_runs'] = { up: async (d) => (await first.up(d), await new Promise((r) => setTimeout(r, 300))) };
    const concurrent = {
      provider: { getMigrations: async () => migrations },
      migrationTableName: `c_${kind}_migration`,
      migrationLockTableName: `c_${kind}_migration_lock`,
    };
    try {
      // Both start on an empty database: their CREATE TABLE IF NOT EXISTS of the Migrator's own
      // tables race too (the loser's OC001 comes after the winner committed; Kysely re-checks).
      const [ra, rb] = await Promise.all([new Migrator({ db: a, ...concurrent }).migrateToLatest(), new Migrator({ db: b, ...concurrent }).migrateToLatest()]);
      // One applied everything, the other nothing.
      // Errors first: a failure then says why, not only that a result is missing.
      expect([ra.error, rb.error]).toEqual([undefined, undefined]);
      expect([ra.results?.length, rb.results?.length].sort()).toEqual([0, ALL.length]);
      const applied = [...(ra.results ?? []), ...(rb.results ?? [])].map((r) => `${r.migrationName}:${r.status}`).sort();
      expect(applied).toEqual(ALL.map((n) => `${n}:Success`));
      expect(await runs(a, `c_${kind}`)).toEqual(ALL);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });
});

it('keeps its tables and lock in a schema of their own (migrationTableSchema)', async () => {
  const db = database(local, 'options');
  try {
    const migrator = new Migrator({ db, provider: provider('sch'), migrationTableSchema: 'migrations' });
    const result = await migrator.migrateToLatest();
    expect(result.error).toBeUndefined();
    expect(result.results).toHaveLength(ALL.length);
    const lock = await db.withSchema('migrations').selectFrom('kysely_migration_lock').select(['id', 'is_locked']).execute();
    expect(lock).toEqual([{ id: 'migration_lock', is_locked: 0 }]);
    const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
    expect(tables.filter((t) => t.schema === 'migrations').map((t) => t.name).sort()).toEqual(['kysely_migration', 'kysely_migration_lock']);
    expect(await new Migrator({ db, provider: provider('sch'), migrationTableSchema: 'migrations' }).migrateToLatest()).toEqual({ results: [] });
  } finally {
    await db.destroy();
  }
});
