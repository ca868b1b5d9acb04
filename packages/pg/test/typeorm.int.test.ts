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
  const tuned = { ...opts, poolSize: 3, connectTimeoutMS: 4000, extra: { ...(opts.extra as object), credentials } };
  await withDataSource(tuned as DataSourceOptions, async (ds) => {
    const pool = (ds.driver as unknown as { master: DsqlPool }).master;
    expect(pool).toBeInstanceOf(DsqlPool);
    // TypeORM's own pool options reach the DsqlPool as pg's.
    expect(pool.options).toMatchObject({ max: 3, connectionTimeoutMillis: 4000 });
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

it('dataSource.transaction commits, and rolls back when the callback throws', async () => {
  const Account = accountSchema('typeorm_tx');
  await withDataSource(options({ entities: [Account], synchronize: true }), async (ds) => {
    const repo = ds.getRepository(Account);
    const [a, b] = await repo.save([
      { owner: 'a', balance: 100 },
      { owner: 'b', balance: 0 },
    ]);
    await ds.transaction(async (em) => {
      await em.decrement(Account, { id: a!.id }, 'balance', 30);
      await em.increment(Account, { id: b!.id }, 'balance', 30);
    });
    const failed = await rejection(
      ds.transaction(async (em) => {
        await em.decrement(Account, { id: a!.id }, 'balance', 1000);
        throw new Error('insufficient funds');
      }),
    );
    expect(failed.message).toBe('insufficient funds');
    const balances = (await repo.find({ order: { owner: 'ASC' } })).map((r) => r.balance);
    expect(balances).toEqual([70, 30]);
  });
});

it('an OCC conflict at COMMIT is a QueryFailedError with code 40001; withRetry runs dataSource.transaction again', async () => {
  const Account = accountSchema('typeorm_occ');
  await withDataSource(options({ entities: [Account], synchronize: true }), async (ds) => {
    const repo = ds.getRepository(Account);
    const { id } = await repo.save({ owner: 'occ', balance: 0 });
    const other = new DsqlPool(local.connectionOptions());
    const errors: unknown[] = [];
    try {
      let attempts = 0;
      await withRetry(
        () =>
          ds.transaction(async (em) => {
            attempts++;
            const row = await em.findOneByOrFail(Account, { id });
            // Another session changes the row this transaction read, before it commits.
            if (attempts === 1) await other.query('UPDATE typeorm_occ SET balance = balance + 100 WHERE id = $1', [id]);
            await em.update(Account, { id }, { balance: row.balance + 1 });
          }),
        { onRetry: ({ error }) => errors.push(error) },
      );
      expect(attempts).toBe(2);
    } finally {
      await other.end();
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(QueryFailedError);
    expect(errors[0]).toMatchObject({ query: 'COMMIT', code: '40001', message: expect.stringContaining('OC000') });
    expect((await repo.findOneByOrFail({ id })).balance).toBe(101);
  });
});

it('a connection lost at COMMIT rejects without a retry (the outcome is unknown), and the DataSource goes on', async () => {
  const Account = accountSchema('typeorm_lost');
  await withDataSource(options({ entities: [Account], synchronize: true }), async (ds) => {
    const repo = ds.getRepository(Account);
    const { id } = await repo.save({ owner: 'lost', balance: 0 });
    local.inject({ on: 'commit', drop: true }); // COMMIT is forwarded; the socket closes before its answer
    let attempts = 0;
    const err = await rejection(
      withRetry(() =>
        ds.transaction(async (em) => {
          attempts++;
          await em.update(Account, { id }, { balance: 1 });
        }),
      ),
    );
    expect(attempts).toBe(1);
    expect(err).toBeInstanceOf(QueryFailedError);
    // TypeORM sends COMMIT itself, so this is pg's connection error, not CommitOutcomeUnknownError
    // (that one is DsqlPool.transaction()'s); isOccError is false for it, so withRetry stops.
    expect(err).toMatchObject({ query: 'COMMIT', message: 'Connection terminated unexpectedly' });
    // It did commit here: only reading tells.
    expect((await repo.findOneByOrFail({ id })).balance).toBe(1);
  });
});

it('takes a url (connection string) with the DSQL query parameters', async () => {
  const { host, port, region, hostaddr, ssl, credentials } = local.connectionOptions();
  const url = `postgres://admin@${host}:${port}/postgres?region=${region}&hostaddr=${hostaddr}`;
  const { host: _h, port: _p, username: _u, database: _d, ...rest } = options({ extra: { ssl, credentials } }) as unknown as Record<string, unknown>;
  await withDataSource({ ...rest, url } as DataSourceOptions, async (ds) => {
    expect(await ds.query('SELECT current_database() AS db')).toEqual([{ db: 'postgres' }]);
  });
});

describe('what DSQL refuses, and the settings that work', () => {
  const uuidKey = { id: { type: 'uuid', primary: true, generated: 'uuid' } } as const;
  const entity = (tableName: string, columns: object, more: object = {}) =>
    new EntitySchema<Record<string, unknown>>({ name: tableName, tableName, columns: columns as never, ...more });

  it('synchronize runs its whole schema change in one transaction: fine for one statement, refused for more', async () => {
    // One CREATE TABLE (primary key and UNIQUE inline), then one ALTER TABLE: one DDL statement each time.
    await withDataSource(options({ entities: [entity('sync_one', { ...uuidKey, code: { type: 'text', unique: true } })], synchronize: true }), async () => {});
    const grown = entity('sync_one', { ...uuidKey, code: { type: 'text', unique: true }, note: { type: 'text', nullable: true } });
    await withDataSource(options({ entities: [grown], synchronize: true }), async (ds) => {
      await ds.getRepository(grown).save({ code: 'x', note: 'added by synchronize' });
    });

    const two = new DataSource(options({ entities: [entity('sync_a', uuidKey), entity('sync_b', uuidKey)], synchronize: true }));
    expect(await rejection(two.initialize())).toMatchObject({
      code: '0A000',
      message: 'multiple ddl statements not supported in a transaction',
      query: expect.stringMatching(/^CREATE TABLE "sync_b"/),
    });
    const indexed = entity('sync_idx', { ...uuidKey, name: { type: 'text' } }, { indices: [{ columns: ['name'] }] });
    const withIndex = new DataSource(options({ entities: [indexed], synchronize: true }));
    expect(await rejection(withIndex.initialize())).toMatchObject({
      code: '0A000',
      message: 'unsupported mode. please use CREATE INDEX ASYNC.',
    });
    // A refused synchronize leaves nothing half-built: the transaction rolled back.
    const pool = new DsqlPool(local.connectionOptions());
    try {
      const { rows } = await pool.query("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'sync\\_%' ORDER BY 1");
      expect(rows).toEqual([{ table_name: 'sync_one' }]);
    } finally {
      await pool.end();
    }
  });

  it('generated keys: uuid works with uuidExtension pgcrypto; increment (SERIAL), identity and uuid-ossp are refused', async () => {
    const refused = async (columns: object, extra: object = {}) =>
      rejection(new DataSource(options({ entities: [entity('keys_refused', columns)], synchronize: true, ...extra })).initialize());
    expect(await refused({ id: { type: 'int', primary: true, generated: 'increment' } })).toMatchObject({
      code: '42704',
      message: 'type "serial" does not exist',
    });
    expect(await refused({ id: { type: 'bigint', primary: true, generated: 'identity' } })).toMatchObject({
      code: '0A000',
      message: expect.stringContaining('identity column is not supported without an explicit cache size'),
    });
    expect(await refused(uuidKey, { uuidExtension: undefined })).toMatchObject({
      code: '42883',
      message: 'function uuid_generate_v4() does not exist',
    });
    // installExtensions left on: TypeORM's CREATE EXTENSION for uuid columns is refused, and it only logs that.
    await withDataSource(options({ entities: [entity('keys_ext', uuidKey)], synchronize: true, installExtensions: undefined }), async (ds) => {
      expect((await ds.getRepository('keys_ext').save({})).id).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  it('a transaction with an isolation level, and a nested transaction (SAVEPOINT), are refused', async () => {
    await withDataSource(options(), async (ds) => {
      expect(await rejection(ds.transaction('REPEATABLE READ', (em) => em.query('SELECT 1')))).toMatchObject({
        code: '0A000',
        query: 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ',
      });
      expect(await rejection(ds.transaction((em) => em.transaction((inner) => inner.query('SELECT 1'))))).toMatchObject({
        code: '0A000',
        message: 'unsupported transaction statement: SAVEPOINT',
      });
      // The connection is usable afterwards: both transactions were rolled back.
      expect(await ds.transaction((em) => em.query('SELECT 1 AS one'))).toEqual([{ one: 1 }]);
    });
  });

  class CreateNotes1700000000001 implements MigrationInterface {
    async up(q: QueryRunner): Promise<void> {
      await q.query('CREATE TABLE typeorm_notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), body text NOT NULL)');
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query('DROP TABLE typeorm_notes');
    }
  }
  class AddNotesIndex1700000000002 implements MigrationInterface {
    // One DDL statement per query; with migrationsTransactionMode 'none' each one commits on its own.
    async up(q: QueryRunner): Promise<void> {
      await q.query('ALTER TABLE typeorm_notes ADD COLUMN author text');
      const jobs = (await q.query('CREATE INDEX ASYNC typeorm_notes_author ON typeorm_notes (author)')) as { job_id: string }[];
      await q.query('CALL sys.wait_for_job($1)', [jobs[0]!.job_id]);
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query('DROP INDEX typeorm_notes_author');
      await q.query('ALTER TABLE typeorm_notes DROP COLUMN author');
    }
  }
  const migrations = [CreateNotes1700000000001, AddNotesIndex1700000000002];

  it("migrations: TypeORM's own migrations table (SERIAL) and DDL in a transaction are refused; a pre-created table and 'none' work", async () => {
    // TypeORM creates its "migrations" table with an id SERIAL column.
    await withDataSource(options({ migrations }), async (ds) => {
      expect(await rejection(ds.runMigrations())).toMatchObject({ code: '42704', message: 'type "serial" does not exist' });
    });

    const pool = new DsqlPool(local.connectionOptions());
    try {
      // The same columns, with a key DSQL has: a bigint identity with CACHE 1.
      await pool.query(
        'CREATE TABLE migrations (id bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 1) PRIMARY KEY, "timestamp" bigint NOT NULL, name varchar NOT NULL)',
      );

      // 'all' (the default) and 'each' insert the migrations row in the transaction of the migration's DDL.
      for (const migrationsTransactionMode of ['all', 'each'] as const) {
        await withDataSource(options({ migrations, migrationsTransactionMode }), async (ds) => {
          expect(await rejection(ds.runMigrations())).toMatchObject({
            code: '0A000',
            message: 'ddl and dml are not supported in the same transaction',
            query: expect.stringMatching(/^INSERT INTO "migrations"/),
          });
        });
      }
      expect((await pool.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'typeorm_notes'")).rows).toEqual([{ n: 0 }]);

      await withDataSource(options({ migrations, migrationsTransactionMode: 'none' }), async (ds) => {
        expect((await ds.runMigrations()).map((m) => m.name)).toEqual(['CreateNotes1700000000001', 'AddNotesIndex1700000000002']);
        await ds.query("INSERT INTO typeorm_notes (body, author) VALUES ('hello', 'ada')");
        expect(await ds.showMigrations()).toBe(false);
        // undoLastMigration ignores migrationsTransactionMode and opens a transaction (here: two DDL
        // statements of down() in it) unless given { transaction: 'none' } itself.
        expect(await rejection(ds.undoLastMigration())).toMatchObject({
          code: '0A000',
          message: 'multiple ddl statements not supported in a transaction',
        });
        await ds.undoLastMigration({ transaction: 'none' });
      });
      expect((await pool.query('SELECT name FROM migrations ORDER BY id')).rows).toEqual([{ name: 'CreateNotes1700000000001' }]);
      expect((await pool.query('SELECT * FROM typeorm_notes')).rows).toEqual([{ id: expect.any(String), body: 'hello' }]);
    } finally {
      await pool.end();
    }
  });
});
