import pg from 'pg';
import {
  DataSource,
  EntitySchema,
  QueryFailedError,
  type DataSourceOptions,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';
import { withRetry } from '@dsql/core';
import type { DsqlLocal } from '@dsql/local';
import { DsqlPool } from '../src/index.js';
import { countingCredentials, startLocal } from './support/local.js';

// TypeORM 0.3 builds its own pool with `new driver.Pool(options)`; it never takes a pool instance.
// `driver: { ...pg, Pool: DsqlPool }` is the supported hook (PostgresDriver.loadDependencies/createPool).

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local?.stop();
});

interface Account {
  id: string;
  owner: string;
  balance: number;
}

function accountSchema(tableName: string): EntitySchema<Account> {
  return new EntitySchema<Account>({
    name: `Account_${tableName}`,
    tableName,
    columns: {
      // DSQL has no SERIAL and no extensions: a uuid key defaulting to gen_random_uuid().
      id: { type: 'uuid', primary: true, generated: 'uuid' },
      owner: { type: 'text' },
      balance: { type: 'int' },
    },
  });
}

/** What a user writes for DSQL, with @dsql/local's host, address, CA and credentials. */
function options(extra: Partial<DataSourceOptions> & Record<string, unknown> = {}): DataSourceOptions {
  const { host, port, user, database, ...dsql } = local.connectionOptions();
  return {
    type: 'postgres',
    driver: { ...pg, Pool: DsqlPool },
    host,
    port,
    username: user,
    database,
    // Shared DSQL options TypeORM has no field for go through `extra` to the DsqlPool constructor.
    extra: dsql,
    uuidExtension: 'pgcrypto', // DEFAULT gen_random_uuid() instead of uuid-ossp's uuid_generate_v4()
    installExtensions: false, // DSQL refuses CREATE EXTENSION
    ...extra,
  } as DataSourceOptions;
}

async function withDataSource<T>(opts: DataSourceOptions, fn: (ds: DataSource) => Promise<T>): Promise<T> {
  const ds = new DataSource(opts);
  await ds.initialize();
  try {
    return await fn(ds);
  } finally {
    await ds.destroy();
  }
}

/** The error an operation rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<QueryFailedError & { code?: string }> {
  const outcome = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (outcome === undefined) throw new Error('expected a rejection');
  return outcome as QueryFailedError & { code?: string };
}

it('builds its pool from DsqlPool (IAM token, TLS) when given driver: { ...pg, Pool: DsqlPool }', async () => {
  const credentials = countingCredentials(local);
  const before = local.stats().authenticated;
  const opts = options();
  await withDataSource({ ...opts, extra: { ...(opts.extra as object), credentials } } as DataSourceOptions, async (ds) => {
    const pool = (ds.driver as unknown as { master: unknown }).master;
    expect(pool).toBeInstanceOf(DsqlPool);
    expect(await ds.query('SELECT current_user AS who, version() AS v')).toEqual([
      { who: 'admin', v: expect.stringMatching(/^PostgreSQL 16/) },
    ]);
  });
  expect(credentials.calls).toBe(1);
  expect(local.stats().authenticated).toBeGreaterThan(before);
});

it('synchronize creates one entity with a uuid key; save, find, update', async () => {
  const Account = accountSchema('typeorm_crud');
  await withDataSource(options({ entities: [Account], synchronize: true }), async (ds) => {
    const repo = ds.getRepository(Account);
    const saved = await repo.save({ owner: 'ada', balance: 10 });
    expect(saved.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await repo.update({ id: saved.id }, { balance: 15 });
    expect(await repo.findOneBy({ id: saved.id })).toEqual({ id: saved.id, owner: 'ada', balance: 15 });
    expect(await repo.countBy({ owner: 'ada' })).toBe(1);
  });
});
