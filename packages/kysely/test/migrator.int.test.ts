import { jest } from '@jest/globals';
import { Kysely, Migrator, sql, type MigrationProvider } from 'kysely';
import { DsqlDialect } from '@dsql/kysely';
import { appMigrations, startLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local?.stop();
});

const provider = (prefix: string): MigrationProvider => ({ getMigrations: async () => appMigrations(prefix) });

function database(options: Partial<ConstructorParameters<typeof DsqlDialect>[0]> = {}): Kysely<any> {
  return new Kysely<any>({ dialect: new DsqlDialect({ ...local.connectionOptions(), max: 4, ...options } as never) });
}

async function runs(db: Kysely<any>, prefix: string): Promise<string[]> {
  const rows = await db.selectFrom(`${prefix}_runs`).select('name').orderBy('name').execute();
  return rows.map((r) => r.name as string);
}

const ALL = ['001_runs', '002_users', '003_orders', '004_orders_by_user', '005_users_display_name', '006_backfill_display_name'];

it("Kysely's Migrator applies the migrations, then is a no-op", async () => {
  const db = database();
  try {
    const migrator = new Migrator({ db, provider: provider('app') });
    // Data for the backfill to act on, inserted between the migrations that need it.
    const first = await migrator.migrateTo('003_orders');
    expect(first.error).toBeUndefined();
    await db.insertInto('app_users').values([{ email: 'ada@example.com' }, { email: 'alan@example.com' }]).execute();

    const rest = await migrator.migrateToLatest();
    expect(rest.error).toBeUndefined();
    expect(rest.results?.map((r) => [r.migrationName, r.status])).toEqual([
      ['004_orders_by_user', 'Success'],
      ['005_users_display_name', 'Success'],
      ['006_backfill_display_name', 'Success'],
    ]);
    expect(await runs(db, 'app')).toEqual(ALL);

    // The index was created ASYNC and its job had finished when the migration moved on.
    const jobs = await sql<{ status: string; object_name: string }>`select status, object_name from sys.jobs where object_name = 'app_orders_by_user'`.execute(db);
    expect(jobs.rows).toEqual([{ status: 'completed', object_name: 'app_orders_by_user' }]);
    const backfilled = await db.selectFrom('app_users').select(['email', 'display_name']).orderBy('email').execute();
    expect(backfilled).toEqual([
      { email: 'ada@example.com', display_name: 'ada' },
      { email: 'alan@example.com', display_name: 'alan' },
    ]);

    const again = await migrator.migrateToLatest();
    expect(again).toEqual({ results: [] });
    expect(await runs(db, 'app')).toEqual(ALL);
    const executed = await db.selectFrom('kysely_migration').select('name').orderBy('name').execute();
    expect(executed.map((r) => r.name)).toEqual(ALL);
    // The lock is free again.
    const lock = await db.selectFrom('kysely_migration_lock').select(['id', 'is_locked']).execute();
    expect(lock).toEqual([{ id: 'migration_lock', is_locked: 0 }]);
  } finally {
    await db.destroy();
  }
});

it('two Migrators started at once apply each migration exactly once', async () => {
  const a = database();
  const b = database();
  try {
    const options = { provider: provider('conc'), migrationTableName: 'conc_migration', migrationLockTableName: 'conc_migration_lock' };
    const [ra, rb] = await Promise.all([new Migrator({ db: a, ...options }).migrateToLatest(), new Migrator({ db: b, ...options }).migrateToLatest()]);
    expect(ra.error).toBeUndefined();
    expect(rb.error).toBeUndefined();
    const applied = [...(ra.results ?? []), ...(rb.results ?? [])].map((r) => `${r.migrationName}:${r.status}`).sort();
    expect(applied).toEqual(ALL.map((n) => `${n}:Success`));
    expect(await runs(a, 'conc')).toEqual(ALL);
  } finally {
    await Promise.all([a.destroy(), b.destroy()]);
  }
});
