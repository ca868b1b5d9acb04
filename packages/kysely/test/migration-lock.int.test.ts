import { jest } from '@jest/globals';
import { Kysely, sql } from 'kysely';
import { Migrator, type Migration } from 'kysely/migration';
import { DsqlDialect, type MigrationLockConfig } from '../src/index.js';
import { database, startLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
let db: Kysely<any>;
beforeAll(async () => {
  local = await startLocal();
  db = database(local, 'options');
});
afterAll(async () => {
  await db?.destroy();
  await local?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A Migrator with its own tables, on a database whose dialect has the given lock options. */
function migrator(name: string, migrations: Record<string, Migration>, lock: MigrationLockConfig = {}): { migrator: Migrator; db: Kysely<any> } {
  const own = database(local, 'options', { migrationLock: { pollIntervalMs: 25, ...lock } });
  return {
    db: own,
    migrator: new Migrator({
      db: own,
      provider: { getMigrations: async () => migrations },
      migrationTableName: `${name}_migration`,
      migrationLockTableName: `${name}_lock`,
    }),
  };
}

const createTable = (table: string): Migration => ({
  up: async (d) => {
    await d.schema.createTable(table).addColumn('id', 'text', (c) => c.primaryKey()).execute();
  },
});

/** Creates the Migrator's tables and lock row (a run without migrations), then sets the lock. */
async function prepareLock(name: string, isLocked: ReturnType<typeof sql>): Promise<void> {
  const m = migrator(name, {});
  try {
    expect(await m.migrator.migrateToLatest()).toEqual({ results: [] });
  } finally {
    await m.db.destroy();
  }
  await sql`update ${sql.id(`${name}_lock`)} set is_locked = ${isLocked}`.execute(db);
}

const lockValue = async (name: string): Promise<number> =>
  (await db.selectFrom(`${name}_lock`).select('is_locked').executeTakeFirstOrThrow()).is_locked as number;
const tableExists = async (table: string): Promise<boolean> => (await db.introspection.getTables()).some((t) => t.name === table);
const NOW = sql`(floor(extract(epoch from now())) - 1700000000)::integer`; // the lease clock of migration-lock.ts

it('waits while another holder has a live lease, then migrates', async () => {
  await prepareLock('wait', sql`${NOW} + 60`);
  const m = migrator('wait', { '001': createTable('wait_t') });
  try {
    const started = Date.now();
    const running = m.migrator.migrateToLatest();
    await sleep(400);
    expect(await tableExists('wait_t')).toBe(false); // still waiting for the lock
    await sql`update wait_lock set is_locked = 0`.execute(db); // the holder releases
    const result = await running;
    expect(result.error).toBeUndefined();
    expect(result.results?.map((r) => r.status)).toEqual(['Success']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(await tableExists('wait_t')).toBe(true);
    expect(await lockValue('wait')).toBe(0);
  } finally {
    await m.db.destroy();
  }
});

it("takes over a dead holder's lease once it has run out", async () => {
  await prepareLock('stale', sql`${NOW} - 5`);
  const m = migrator('stale', { '001': createTable('stale_t') });
  try {
    const result = await m.migrator.migrateToLatest();
    expect(result.error).toBeUndefined();
    expect(await tableExists('stale_t')).toBe(true);
    expect(await lockValue('stale')).toBe(0);
  } finally {
    await m.db.destroy();
  }
});

it('gives up after acquireTimeoutMs, leaving the holder alone', async () => {
  await prepareLock('busy', sql`${NOW} + 600`);
  const held = await lockValue('busy');
  const m = migrator('busy', { '001': createTable('busy_t') }, { acquireTimeoutMs: 300 });
  try {
    const result = await m.migrator.migrateToLatest();
    expect(String((result.error as Error).message)).toMatch(/held by another migrator and was not released within migrationLock\.acquireTimeoutMs \(300 ms\)/);
    expect(await tableExists('busy_t')).toBe(false);
    expect(await lockValue('busy')).toBe(held);
  } finally {
    await m.db.destroy();
  }
});

it('renews the lease while a long migration runs', async () => {
  const seen: number[] = [];
  const read = async (d: Kysely<any>): Promise<void> => {
    seen.push((await d.selectFrom('renew_lock').select('is_locked').executeTakeFirstOrThrow()).is_locked as number);
  };
  const m = migrator('renew', { '001': { up: async (d) => (await read(d), await sleep(2600), await read(d)) } }, { leaseSeconds: 3 });
  try {
    const result = await m.migrator.migrateToLatest();
    expect(result.error).toBeUndefined();
    expect(seen).toHaveLength(2);
    expect(seen[1]!).toBeGreaterThan(seen[0]!); // renewed (every second) on another connection
    expect(await lockValue('renew')).toBe(0);
  } finally {
    await m.db.destroy();
  }
});

it('reports a lease taken over while migrating instead of pretending all was well', async () => {
  const m = migrator('lost', { '001': { up: async (d) => {
    // Someone else takes the lock (as if our renewals had not reached the server in time).
    await sql`update lost_lock set is_locked = ${NOW} + 1000`.execute(d);
    await sleep(1500);
  } } }, { leaseSeconds: 3 });
  try {
    const result = await m.migrator.migrateToLatest();
    expect(String((result.error as Error)?.message)).toMatch(/lease \(until \d{4}-\d\d-\d\dT[\d:.]+Z\) ran out and was taken by another migrator/);
    expect(await lockValue('lost')).toBeGreaterThan(0); // the other holder's lock is left alone
  } finally {
    await m.db.destroy();
  }
});

it('a pool of one connection cannot renew, but never hangs the release', async () => {
  const single = new Kysely<any>({ dialect: new DsqlDialect({ ...local.connectionOptions(), max: 1, migrationLock: { leaseSeconds: 3 } }) });
  try {
    const m = new Migrator({
      db: single,
      provider: { getMigrations: async () => ({ '001': { up: async () => sleep(1500) } }) },
      migrationTableName: 'single_migration',
      migrationLockTableName: 'single_lock',
    });
    const result = await m.migrateToLatest();
    expect(result.error).toBeUndefined();
    expect(result.results?.map((r) => r.status)).toEqual(['Success']);
    expect(await lockValue('single')).toBe(0);
  } finally {
    await single.destroy();
  }
});
