import { jest } from '@jest/globals';
import { sql, type Kysely } from 'kysely';
import { isCommitOutcomeUnknownError, isDsqlError, isOccError, transaction } from '../src/index.js';
import { database, DRIVER_KINDS, startLocal, type DriverKind, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local?.stop();
});

const OCC = { code: '40001', message: 'change conflicts with another transaction (OC000)' };
const fast = { baseDelayMs: 1, maxDelayMs: 5 };

describe.each<DriverKind>(DRIVER_KINDS)('transaction() through the %s driver', (kind) => {
  const table = `tx_${kind}`;
  let db: Kysely<any>;

  beforeAll(async () => {
    db = database(local, kind);
    await db.schema.createTable(table).addColumn('id', 'text', (c) => c.primaryKey()).addColumn('n', 'integer', (c) => c.notNull()).execute();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  const value = async (id: string): Promise<number | undefined> =>
    (await db.selectFrom(table).select('n').where('id', '=', id).executeTakeFirst())?.n as number | undefined;

  it('a lost COMMIT answer is CommitOutcomeUnknownError, never retried', async () => {
    let runs = 0;
    local.inject({ on: 'commit', drop: true });
    const err = await transaction(db, async (trx) => {
      runs++;
      await trx.insertInto(table).values({ id: 'lost', n: 1 }).execute();
    }).catch((e: unknown) => e);
    expect(isCommitOutcomeUnknownError(err)).toBe(true);
    expect(runs).toBe(1);
    // The COMMIT did run on the server: only the answer was lost.
    expect(await value('lost')).toBe(1);
    // The dead connection was discarded, not handed out again.
    expect(await value('lost')).toBe(1);
  });

  it('an OCC conflict at COMMIT reruns the callback and commits once', async () => {
    await db.insertInto(table).values({ id: 'occ', n: 0 }).execute();
    let runs = 0;
    local.inject({ on: 'commit', error: OCC, times: 2 });
    const result = await transaction(
      db,
      async (trx, attempt) => {
        runs++;
        await trx.updateTable(table).set((eb) => ({ n: eb('n', '+', 1) })).where('id', '=', 'occ').execute();
        return attempt;
      },
      fast,
    );
    expect(result).toBe(3);
    expect(runs).toBe(3);
    expect(await value('occ')).toBe(1);
  });

  it('a transient failure before COMMIT is retried on a fresh connection', async () => {
    await db.insertInto(table).values({ id: 'transient', n: 0 }).execute();
    let runs = 0;
    local.inject({ on: 'query', match: `update "${table}"`, error: { code: 'XX000', message: 'server unavailable' }, times: 1 });
    await transaction(
      db,
      async (trx) => {
        runs++;
        await trx.updateTable(table).set({ n: 7 }).where('id', '=', 'transient').execute();
      },
      fast,
    );
    expect(runs).toBe(2);
    expect(await value('transient')).toBe(7);
  });

  it('a connection lost before COMMIT (error swallowed in the callback) is retried, not "outcome unknown"', async () => {
    let runs = 0;
    local.inject({ on: 'query', match: 'lost-before-commit', drop: true });
    await transaction(
      db,
      async (trx) => {
        runs++;
        await trx.insertInto(table).values({ id: `before-${runs}`, n: runs }).execute();
        await sql`select 'lost-before-commit'`.execute(trx).catch(() => undefined);
      },
      fast,
    );
    expect(runs).toBe(2);
    expect(await value('before-1')).toBeUndefined();
    expect(await value('before-2')).toBe(2);
  });

  it('retry: false makes one attempt', async () => {
    let runs = 0;
    local.inject({ on: 'commit', error: OCC, times: 1 });
    const err = await transaction(
      db,
      async (trx) => {
        runs++;
        await trx.insertInto(table).values({ id: 'once', n: 1 }).execute();
      },
      false,
    ).catch((e: unknown) => e);
    expect(isOccError(err)).toBe(true);
    expect(runs).toBe(1);
    expect(await value('once')).toBeUndefined();
  });

  it('a COMMIT answered ROLLBACK (an error swallowed in the callback) is an error, not a success', async () => {
    await db.insertInto(table).values({ id: 'dup', n: 1 }).execute();
    const err = await transaction(db, async (trx) => {
      await trx.insertInto(table).values({ id: 'dup', n: 2 }).execute().catch(() => undefined);
    }).catch((e: unknown) => e);
    expect(isDsqlError(err, 'transaction-rolled-back')).toBe(true);
    expect(await value('dup')).toBe(1);
  });
});

it("the dialect's retry option is transaction()'s default", async () => {
  const db = database(local, 'options', { retry: false });
  try {
    await db.schema.createTable('tx_default').addColumn('id', 'text', (c) => c.primaryKey()).execute();
    let runs = 0;
    local.inject({ on: 'commit', error: OCC, times: 1 });
    const err = await transaction(db, async (trx) => {
      runs++;
      await trx.insertInto('tx_default').values({ id: 'a' }).execute();
    }).catch((e: unknown) => e);
    expect(isOccError(err)).toBe(true);
    expect(runs).toBe(1);
  } finally {
    await db.destroy();
  }
});
