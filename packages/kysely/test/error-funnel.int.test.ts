// err.dsql on @dsql/kysely's errors, against @dsql/local, through each driver: the same refusals,
// with the same fields, as the other adapters' error-funnel tests (pg, postgres, drizzle).
import { jest } from '@jest/globals';
import { sql, type Kysely } from 'kysely';
import { classifyError, isCommitOutcomeUnknownError, isOccError, isTransientError, type ClassifiedError } from '@dsql/core';
import { DsqlJobError, transaction } from '../src/index.js';
import { database, DRIVER_KINDS, startLocal, type DriverKind, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

const UNSUPPORTED = { kind: 'unsupported', retryable: false, sqlstate: '0A000' };
const OCC = { kind: 'occ-conflict', retryable: true, sqlstate: '40001' };
const LIMIT = { kind: 'limit-exceeded', retryable: false, sqlstate: '54000' };
const DENIED = { kind: 'access-denied', retryable: false, sqlstate: '08006' };
const ACCESS_DENIED = { code: '08006', message: 'unable to accept connection, access denied' };

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local?.stop();
});

async function failure(p: PromiseLike<unknown>): Promise<ClassifiedError> {
  const err = await Promise.resolve(p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as ClassifiedError;
}

function expectDsql(err: ClassifiedError, expected: Record<string, unknown>): void {
  expect(Object.keys(err)).toContain('dsql');
  expect(err.dsql).toMatchObject(expected);
  expect(Object.isFrozen(err.dsql)).toBe(true);
  expect(typeof err.dsql.hint).toBe('string');
  expect(err.dsql.kind).toBe(classifyError(err).kind);
}

describe.each<DriverKind>(DRIVER_KINDS)('@dsql/kysely errors carry err.dsql through the %s driver', (kind) => {
  const table = `funnel_${kind}`;
  const rows = `funnel_rows_${kind}`;
  let db: Kysely<any>;

  beforeAll(async () => {
    db = database(local, kind);
    await db.schema.createTable(table).addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('n', 'integer', (c) => c.notNull()).execute();
    await db.schema.createTable(rows).addColumn('id', 'integer', (c) => c.primaryKey()).execute();
    await db.insertInto(table).values({ id: 1, n: 0 }).execute();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('a statement DSQL refuses (0A000): a query, and out of transaction()', async () => {
    expectDsql(await failure(sql`truncate ${sql.table(table)}`.execute(db)), UNSUPPORTED);
    expectDsql(await failure(transaction(db, (trx) => sql`truncate ${sql.table(table)}`.execute(trx), false)), UNSUPPORTED);
  });

  it('an OCC conflict between two transactions (40001), also out of transaction()', async () => {
    const err = await db.connection().execute((a) =>
      db.connection().execute(async (b) => {
        await sql`begin`.execute(a);
        await sql`begin`.execute(b);
        await a.selectFrom(table).select('n').where('id', '=', 1).execute();
        await b.selectFrom(table).select('n').where('id', '=', 1).execute();
        await b.updateTable(table).set((eb) => ({ n: eb('n', '+', 1) })).where('id', '=', 1).execute();
        await sql`commit`.execute(b);
        const conflict = await failure(
          a.updateTable(table).set((eb) => ({ n: eb('n', '+', 1) })).where('id', '=', 1).execute().then(() => sql`commit`.execute(a)),
        );
        await sql`rollback`.execute(a).catch(() => undefined);
        return conflict;
      }),
    );
    expectDsql(err, OCC);
    expect(isOccError(err)).toBe(true);

    local.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction (OC000)' } });
    const fromTransaction = await failure(transaction(db, (trx) => trx.updateTable(table).set({ n: 5 }).where('id', '=', 1).execute(), false));
    expectDsql(fromTransaction, OCC);
    expect(isOccError(fromTransaction)).toBe(true);
  });

  it('a transaction limit (54000): more than 3,000 modified rows', async () => {
    const err = await failure(sql`insert into ${sql.table(rows)} select g from generate_series(1, 3001) g`.execute(db));
    expectDsql(err, LIMIT);
    expect(isTransientError(err)).toBe(false);
  });

  it("a lost COMMIT answer: the adapter's own CommitOutcomeUnknownError carries err.dsql", async () => {
    local.inject({ on: 'commit', drop: true });
    // Kysely's own db.transaction(): the error leaves through the driver's commitTransaction.
    const err = await failure(db.transaction().execute((trx) => trx.updateTable(table).set({ n: 7 }).where('id', '=', 1).execute()));
    expect(isCommitOutcomeUnknownError(err)).toBe(true);
    expectDsql(err, { kind: 'commit-outcome-unknown', retryable: false });
    expect(isOccError(err)).toBe(false);
  });

  it('a refused connection (access denied)', async () => {
    const fresh = database(local, kind);
    try {
      local.inject({ on: 'connect', error: ACCESS_DENIED });
      const err = await failure(sql`select 1`.execute(fresh));
      expectDsql(err, DENIED);
      expect(err.dsql.hint).toMatch(/Region|DbConnect/);
      expect(isTransientError(err)).toBe(false);
    } finally {
      await fresh.destroy();
    }
  });
});

it('a streamed query that fails carries err.dsql (Postgres.js driver)', async () => {
  const db = database(local, 'postgres');
  try {
    const stream = db.selectNoFrom(sql<number>`1 / 0`.as('n')).stream(10);
    const err = await failure(stream.next());
    expectDsql(err, { kind: 'other', retryable: false, sqlstate: '22012' });
  } finally {
    await db.destroy();
  }
});

it("the adapter's own refusals (savepoint, isolation level) carry err.dsql out of Kysely's own transactions", async () => {
  const db = database(local, 'pool');
  try {
    const trx = await db.startTransaction().execute();
    try {
      expectDsql(await failure(trx.savepoint('s1').execute()), { kind: 'unsupported', retryable: false });
    } finally {
      await trx.rollback().execute();
    }
    const isolation = await failure(db.transaction().setIsolationLevel('serializable').execute(async () => undefined));
    expectDsql(isolation, { kind: 'unsupported', retryable: false });
  } finally {
    await db.destroy();
  }
});

it('a failed index job (DsqlJobError, after its statement committed) carries err.dsql', async () => {
  const db = database(local, 'pool');
  try {
    await db.schema.createTable('funnel_jobs').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('sku', 'text').execute();
    await db.insertInto('funnel_jobs').values([{ id: 1, sku: 'a' }, { id: 2, sku: 'a' }]).execute();
    const err = await failure(db.schema.createIndex('funnel_jobs_sku').unique().on('funnel_jobs').column('sku').execute());
    expect(err).toBeInstanceOf(DsqlJobError);
    expectDsql(err, { retryable: false });
  } finally {
    await db.destroy();
  }
});
