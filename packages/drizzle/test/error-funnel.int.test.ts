// err.dsql on @dsql/drizzle's errors, against @dsql/local, through both drivers: the same refusals,
// with the same fields, as the other adapters' error-funnel tests (pg, postgres, kysely).
//
// Drizzle wraps every failed query in its DrizzleQueryError, whose `cause` is the driver's error:
// that cause carries err.dsql (from @dsql/pg, or @dsql/postgres on Postgres.js 4), and what leaves
// db.transaction() / transaction() carries it on the error itself. classifyError / isOccError /
// isTransientError answer the same on the wrapper, walking `cause`.
import dc from 'node:diagnostics_channel';
import { jest } from '@jest/globals';
import { eq, sql } from 'drizzle-orm';
import { integer, pgTable } from 'drizzle-orm/pg-core';
import { classifyError, isCommitOutcomeUnknownError, isOccError, isTransientError, type ClassifiedError } from '@dsql/core';
import { drizzle as drizzlePg, transaction } from '@dsql/drizzle';
import { drizzle as drizzlePostgresJs } from '@dsql/drizzle/postgres-js';
import { adminQuery, startDsqlLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

/** Whether the Postgres.js in use publishes query events (4 does; 3.4 does not): see queryEvents(). */
let postgresJsPublishes = false;

/** Runs a query on the postgres-js variant and tells whether Postgres.js published it on diagnostics_channel. */
async function queryEvents(db: Db): Promise<boolean> {
  let seen = false;
  const probe = (): void => void (seen = true);
  dc.subscribe('tracing:postgres:query:start', probe);
  try {
    await db.execute(sql`SELECT 1`);
  } finally {
    dc.unsubscribe('tracing:postgres:query:start', probe);
  }
  return seen;
}

const UNSUPPORTED = { kind: 'unsupported', retryable: false, sqlstate: '0A000' };
const OCC = { kind: 'occ-conflict', retryable: true, sqlstate: '40001' };
const LIMIT = { kind: 'limit-exceeded', retryable: false, sqlstate: '54000' };
const DENIED = { kind: 'access-denied', retryable: false, sqlstate: '08006' };
const ACCESS_DENIED = { code: '08006', message: 'unable to accept connection, access denied' };

const funnel = pgTable('funnel', { id: integer('id').primaryKey(), n: integer('n').notNull() });

let local: DsqlLocal;
beforeAll(async () => {
  local = await startDsqlLocal();
  await adminQuery(local, 'CREATE TABLE IF NOT EXISTS funnel (id int PRIMARY KEY, n int NOT NULL)');
  await adminQuery(local, 'INSERT INTO funnel VALUES (1, 0) ON CONFLICT DO NOTHING');
  await adminQuery(local, 'CREATE TABLE IF NOT EXISTS funnel_rows (id int PRIMARY KEY)');
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

type Variant = 'node-postgres' | 'postgres-js';
type Db = { execute: (q: ReturnType<typeof sql>) => Promise<unknown>; transaction: ReturnType<typeof drizzlePg>['transaction']; select: ReturnType<typeof drizzlePg>['select']; update: ReturnType<typeof drizzlePg>['update'] };

function open(variant: Variant): { db: Db; close: () => Promise<void> } {
  if (variant === 'node-postgres') {
    const db = drizzlePg({ connection: { ...local.connectionOptions(), max: 4 } });
    db.$client.on('error', () => undefined);
    return { db: db as unknown as Db, close: () => db.$client.end() };
  }
  const db = drizzlePostgresJs({ connection: { ...local.connectionOptions(), max: 4, onnotice: () => undefined } });
  return { db: db as unknown as Db, close: () => db.$client.end({ timeout: 1 }) };
}

/**
 * A failed plain query: Drizzle's DrizzleQueryError, whose `cause` (the driver's error) carries
 * err.dsql — on node-postgres always; on postgres-js with Postgres.js 4 (3.4 publishes no query
 * events) — and classifyError gives the same answer on the wrapper.
 */
function expectQueryDsql(variant: Variant, err: ClassifiedError, expected: Record<string, unknown>): void {
  expect(err.constructor.name).toBe('DrizzleQueryError');
  expect(classifyError(err)).toMatchObject(expected);
  const cause = err.cause as ClassifiedError;
  if (variant === 'postgres-js' && !postgresJsPublishes) expect(cause).not.toHaveProperty('dsql');
  else expectDsql(cause, expected);
}

describe.each<Variant>(['node-postgres', 'postgres-js'])('@dsql/drizzle (%s) errors carry err.dsql', (variant) => {
  let db: Db;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = open(variant));
    if (variant === 'postgres-js') postgresJsPublishes = await queryEvents(db);
  });
  afterAll(async () => {
    await close?.();
  });

  it('a statement DSQL refuses (0A000): a query, and out of db.transaction() / transaction()', async () => {
    expectQueryDsql(variant, await failure(db.execute(sql`TRUNCATE funnel`)), UNSUPPORTED);
    expectDsql(await failure(db.transaction((tx) => tx.execute(sql`TRUNCATE funnel`))), UNSUPPORTED);
    expectDsql(await failure(transaction(db, (tx) => tx.execute(sql`TRUNCATE funnel`), false)), UNSUPPORTED);
  });

  it('an OCC conflict between two transactions (40001) out of db.transaction()', async () => {
    let read!: () => void;
    let go!: () => void;
    const hasRead = new Promise<void>((r) => (read = r));
    const gate = new Promise<void>((r) => (go = r));
    const first = failure(
      db.transaction(async (tx) => {
        await tx.select().from(funnel).where(eq(funnel.id, 1));
        read();
        await gate;
        await tx.update(funnel).set({ n: sql`${funnel.n} + 1` }).where(eq(funnel.id, 1));
      }),
    );
    await hasRead;
    await db.transaction(async (tx) => {
      await tx.update(funnel).set({ n: sql`${funnel.n} + 1` }).where(eq(funnel.id, 1));
    });
    go();
    const err = await first;
    expectDsql(err, OCC);
    expect(isOccError(err)).toBe(true);
  });

  it('a transaction limit (54000): more than 3,000 modified rows', async () => {
    const err = await failure(db.execute(sql`INSERT INTO funnel_rows SELECT g FROM generate_series(1, 3001) g`));
    expectQueryDsql(variant, err, LIMIT);
    expect(isTransientError(err)).toBe(false);
  });

  it("a lost COMMIT answer: the adapter's CommitOutcomeUnknownError carries err.dsql", async () => {
    local.inject({ on: 'commit', drop: true });
    const err = await failure(db.transaction((tx) => tx.update(funnel).set({ n: 7 }).where(eq(funnel.id, 1))));
    expect(isCommitOutcomeUnknownError(err)).toBe(true);
    expectDsql(err, { kind: 'commit-outcome-unknown', retryable: false });
  });

  it('a refused connection (access denied)', async () => {
    const fresh = open(variant);
    try {
      local.inject({ on: 'connect', error: ACCESS_DENIED });
      const err = await failure(fresh.db.execute(sql`SELECT 1`));
      expect(classifyError(err)).toMatchObject(DENIED);
      // The connect error (pg's, or @dsql/postgres's DsqlConnectError) is the query error's cause.
      expectDsql(err.cause as ClassifiedError, DENIED);
      expect((err.cause as ClassifiedError).dsql.hint).toMatch(/Region|DbConnect/);
      expect(isTransientError(err)).toBe(false);
    } finally {
      await fresh.close();
    }
  });
});
