import { jest } from '@jest/globals';
import { Kysely } from 'kysely';
import { DsqlPool } from '@dsql/pg';
import { dsql, type DsqlSql } from '@dsql/postgres';
import { DsqlDialect, DsqlUnsupportedError, isDsqlError, transaction, type DsqlDialectOptions } from '../src/index.js';
import { startLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(30_000);

let local: DsqlLocal;
const dbs: Kysely<any>[] = [];
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await Promise.allSettled(dbs.map((db) => db.destroy()));
  await local?.stop();
});

type Kind = 'pool' | 'postgres';
/** A database and the pool / sql it runs on (`max` connections: 1 unless told). */
interface Setup {
  db: Kysely<any>;
  under: { kind: 'pool'; pool: DsqlPool } | { kind: 'postgres'; sql: DsqlSql };
}
function setup(kind: Kind, max = 1, options: DsqlDialectOptions = {}): Setup {
  const connection = local.connectionOptions();
  let result: Setup;
  if (kind === 'pool') {
    const pool = new DsqlPool({ ...connection, max, connectionTimeoutMillis: 10_000 });
    result = { db: new Kysely({ dialect: new DsqlDialect({ pool, ...options }) }), under: { kind, pool } };
  } else {
    const sql = dsql({ ...connection, max, onnotice: () => undefined });
    result = { db: new Kysely({ dialect: new DsqlDialect({ postgres: sql, ...options }) }), under: { kind, sql } };
  }
  dbs.push(result.db);
  return result;
}

/** The underlying driver's own transaction, as the application would call it. */
function underlyingBegin(s: Setup): [string, () => Promise<unknown>] {
  return s.under.kind === 'pool'
    ? ['pool.transaction()', () => (s.under as { pool: DsqlPool }).pool.transaction(async (tx) => tx.query('select 1'))]
    : ['sql.begin()', () => (s.under as { sql: DsqlSql }).sql.begin(async (tx) => tx`select 1`)];
}

/** What the endpoint saw while `during` ran: SQL texts received, connections accepted. */
async function traffic<T>(during: () => Promise<T>): Promise<{ value: T; queries: number; connections: number }> {
  const before = local.stats();
  const value = await during();
  const after = local.stats();
  return { value, queries: after.queries - before.queries, connections: after.connectionsAccepted - before.connectionsAccepted };
}

function expectNested(err: unknown, called: string, owner: string): void {
  expect(err).toBeInstanceOf(DsqlUnsupportedError);
  expect(isDsqlError(err, 'unsupported-feature')).toBe(true);
  expect((err as Error).message).toMatch(new RegExp(`^${called.replace(/[.*()/]/g, '\\$&')} was called inside a transaction`));
  expect((err as Error).message).toContain(`of the same ${owner}`);
  expect((err as Error).message).toContain('passed to the callback');
}

describe.each<Kind>(['pool', 'postgres'])('nested transactions over %s (max: 1)', (kind) => {
  const owner = kind === 'pool' ? 'pool' : 'sql';
  const nestingForms = (s: Setup): [string, () => Promise<unknown>][] => [
    ['transaction()', () => transaction(s.db, async (trx) => trx.selectNoFrom((eb) => eb.lit(1).as('one')).execute(), false)],
    ['db.transaction() / db.startTransaction()', () => s.db.transaction().execute(async (trx) => trx.selectNoFrom((eb) => eb.lit(1).as('one')).execute())],
    ['db.transaction() / db.startTransaction()', () => s.db.startTransaction().execute()],
    underlyingBegin(s),
  ];

  for (const index of [0, 1, 2, 3]) {
    it(`nesting form ${index} is refused at once, nothing sent, no connection opened`, async () => {
      const s = setup(kind);
      const [called, nest] = nestingForms(s)[index]!;
      const seen = await transaction(
        s.db,
        async (trx) => {
          await trx.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
          return traffic(() => nest().then(() => 'ran', (err: unknown) => err));
        },
        false,
      );
      expectNested(seen.value, called, owner);
      expect(seen.queries).toBe(0);
      expect(seen.connections).toBe(0);
      // The outer transaction still commits, and the database is usable afterwards.
      await expect(transaction(s.db, async (trx) => (await trx.selectNoFrom((eb) => eb.lit(2).as('two')).execute())[0]!.two)).resolves.toBe(2);
    });
  }

  it('not flagged: sequential, concurrent top-level, after the callback settled', async () => {
    const s = setup(kind);
    const one = (n: number): Promise<number> => transaction(s.db, async (trx) => (await trx.selectNoFrom((eb) => eb.lit(n).as('n')).execute())[0]!.n as number);
    expect(await one(1)).toBe(1);
    expect(await one(2)).toBe(2);
    expect(await Promise.all([one(3), one(4), s.db.transaction().execute(async (trx) => (await trx.selectNoFrom((eb) => eb.lit(5).as('n')).execute())[0]!.n)])).toEqual([3, 4, 5]);
    let later: Promise<number> | undefined;
    await transaction(s.db, async () => {
      later = new Promise<number>((resolve, reject) => setTimeout(() => one(6).then(resolve, reject), 20));
    });
    expect(await later).toBe(6);
  });

  it('not flagged: a transaction on another database, a plain query on the outer db', async () => {
    const s = setup(kind, 2);
    const other = setup(kind, 1);
    const result = await transaction(s.db, async () => {
      const inOther = await transaction(other.db, async (trx) => (await trx.selectNoFrom((eb) => eb.lit(7).as('n')).execute())[0]!.n);
      // Outside the transaction, on a connection of its own (checked out when it runs).
      const plain = (await s.db.selectNoFrom((eb) => eb.lit(8).as('n')).execute())[0]!.n;
      return [inOther, plain];
    });
    expect(result).toEqual([7, 8]);
  });

  it('detectNestedTransactions: false lets the inner transaction run on its own connection', async () => {
    const s = setup(kind, 2, { detectNestedTransactions: false });
    const inner = await transaction(s.db, async () =>
      transaction(s.db, async (trx) => (await trx.selectNoFrom((eb) => eb.lit(9).as('n')).execute())[0]!.n),
    );
    expect(inner).toBe(9);
  });

  it('detectNestedTransactions must be a boolean', () => {
    expect(() => setup(kind, 1, { detectNestedTransactions: 'yes' as never })).toThrow(/detectNestedTransactions/);
  });
});

it("a transaction() inside sql.begin() of the dsql() sql under the dialect is refused", async () => {
  const s = setup('postgres');
  const sql = (s.under as { sql: DsqlSql }).sql;
  const err = await sql.begin(async () => transaction(s.db, async () => 'ran').catch((e: unknown) => e));
  expectNested(err, 'transaction()', 'sql');
});

it('a transaction() or db.transaction() inside pool.transaction() of the DsqlPool under the dialect is refused', async () => {
  const s = setup('pool', 2);
  const pool = (s.under as { pool: DsqlPool }).pool;
  const errs = await pool.transaction(async () => [
    await transaction(s.db, async () => 'ran').catch((e: unknown) => e),
    await s.db.transaction().execute(async () => 'ran').catch((e: unknown) => e),
  ]);
  expectNested(errs[0], 'transaction()', 'pool');
  expectNested(errs[1], 'db.transaction() / db.startTransaction()', 'pool');
});

describe('a dialect that creates its own DsqlPool (shared options, max: 1)', () => {
  it('refuses nested transaction() and db.transaction() once the pool exists, nothing sent', async () => {
    const db = new Kysely<any>({ dialect: new DsqlDialect({ ...local.connectionOptions(), max: 1, connectionTimeoutMillis: 10_000 }) });
    dbs.push(db);
    const seen = await transaction(db, async () =>
      traffic(async () => [
        await transaction(db, async () => 'ran').catch((err: unknown) => err),
        await db.transaction().execute(async () => 'ran').catch((err: unknown) => err),
      ]),
    );
    expectNested(seen.value[0], 'transaction()', 'pool');
    expectNested(seen.value[1], 'db.transaction() / db.startTransaction()', 'pool');
    expect(seen.queries).toBe(0);
    expect(seen.connections).toBe(0);
  });
});

it('a plain query on the outer db inside a callback runs onReserveConnection when it checks out', async () => {
  const reserved: string[] = [];
  const s = setup('pool', 2, { onReserveConnection: async () => void reserved.push('reserve') });
  const n = await transaction(s.db, async () => {
    const before = reserved.length;
    const row = (await s.db.selectNoFrom((eb) => eb.lit(11).as('n')).execute())[0]!.n;
    return [row, reserved.length - before];
  });
  expect(n).toEqual([11, 1]);
});
