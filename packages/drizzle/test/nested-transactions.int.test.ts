import { jest } from '@jest/globals';
import { sql } from 'drizzle-orm';
import { DsqlUnsupportedError, isDsqlError } from '@dsql/core';
import { DsqlPool } from '@dsql/pg';
import { dsql, type DsqlSql } from '@dsql/postgres';
import { drizzle as drizzlePg, transaction } from '@dsql/drizzle';
import { drizzle as drizzlePostgresJs } from '@dsql/drizzle/postgres-js';
import { startDsqlLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(30_000);

let local: DsqlLocal;
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  local = await startDsqlLocal();
});
afterAll(async () => {
  await Promise.allSettled(closers.map((close) => close()));
  await local?.stop();
});

/** Any Drizzle database of this package, as the tests use it. */
interface Db {
  execute(query: unknown): Promise<unknown>;
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
}
type Kind = 'node-postgres' | 'postgres-js';
interface Setup {
  db: Db;
  owner: string;
  /** The driver's own transaction underneath, as the application would call it. */
  underneath: [string, () => Promise<unknown>];
}

function setup(kind: Kind, max = 1, options: { detectNestedTransactions?: boolean } = {}): Setup {
  // The pool's or sql's own check follows the same option (with postgres-js, db.transaction() is sql.begin()).
  const connection = { ...local.connectionOptions(), ...('detectNestedTransactions' in options ? { detectNestedTransactions: options.detectNestedTransactions } : {}) };
  if (kind === 'node-postgres') {
    const pool = new DsqlPool({ ...connection, max, connectionTimeoutMillis: 10_000 });
    closers.push(() => pool.end());
    const db = drizzlePg({ client: pool, ...options }) as unknown as Db;
    return { db, owner: 'pool', underneath: ['pool.transaction()', () => pool.transaction(async (tx) => tx.query('select 1'))] };
  }
  const client: DsqlSql = dsql({ ...connection, max, onnotice: () => undefined });
  closers.push(() => client.end({ timeout: 1 }));
  const db = drizzlePostgresJs({ client, ...options } as never) as unknown as Db;
  return { db, owner: 'sql', underneath: ['sql.begin()', () => client.begin(async (tx) => tx`select 1`)] };
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
  expect((err as Error).message.startsWith(`${called} was called inside a transaction`)).toBe(true);
  expect((err as Error).message).toContain(`of the same ${owner}`);
  expect((err as Error).message).toContain('passed to the callback');
}

const one = sql`select 1`;

describe.each<Kind>(['node-postgres', 'postgres-js'])('nested transactions with %s (max: 1)', (kind) => {
  const forms = (s: Setup): [string, () => Promise<unknown>][] => [
    ['transaction()', () => transaction(s.db as never, async (tx: Db) => tx.execute(one), false)],
    ['db.transaction()', () => s.db.transaction(async (tx) => tx.execute(one))],
    s.underneath,
  ];
  const outers: [string, (s: Setup, fn: (tx: Db) => Promise<unknown>) => Promise<unknown>][] = [
    ['transaction(db)', (s, fn) => transaction(s.db as never, fn, false)],
    ['db.transaction()', (s, fn) => s.db.transaction(fn)],
  ];

  for (const [outerName, outer] of outers) {
    for (const index of [0, 1, 2]) {
      it(`inside ${outerName}: nesting form ${index} is refused at once, nothing sent, no connection opened`, async () => {
        const s = setup(kind);
        const [called, nest] = forms(s)[index]!;
        const seen = (await outer(s, async (tx) => {
          await tx.execute(one);
          return traffic(() => nest().then(() => 'ran', (err: unknown) => err));
        })) as Awaited<ReturnType<typeof traffic>>;
        expectNested(seen.value, called, s.owner);
        expect(seen.queries).toBe(0);
        expect(seen.connections).toBe(0);
        // The database is usable afterwards (the outer transaction committed and gave its connection back).
        await expect(s.db.transaction(async (tx) => tx.execute(one))).resolves.toBeDefined();
      });
    }
  }

  it('not flagged: sequential, concurrent top-level, after the callback settled', async () => {
    const s = setup(kind);
    const run = (n: number): Promise<number> => s.db.transaction(async (tx) => {
      await tx.execute(one);
      return n;
    });
    expect(await run(1)).toBe(1);
    expect(await run(2)).toBe(2);
    expect(await Promise.all([run(3), run(4), transaction(s.db as never, async () => 5)])).toEqual([3, 4, 5]);
    let later: Promise<number> | undefined;
    await s.db.transaction(async () => {
      later = new Promise<number>((resolve, reject) => setTimeout(() => run(6).then(resolve, reject), 20));
    });
    expect(await later).toBe(6);
  });

  it('not flagged: a transaction on another database, a plain query on the outer db', async () => {
    const s = setup(kind, 2);
    const other = setup(kind, 1);
    const result = await s.db.transaction(async () => {
      const inOther = await other.db.transaction(async (tx) => {
        await tx.execute(one);
        return 7;
      });
      await s.db.execute(one); // outside the transaction, on a connection of its own
      return inOther;
    });
    expect(result).toBe(7);
  });

  it('detectNestedTransactions: false lets the inner transaction run on its own connection', async () => {
    const s = setup(kind, 2, { detectNestedTransactions: false });
    const inner = await s.db.transaction(async () => s.db.transaction(async () => 9));
    expect(inner).toBe(9);
  });

  it('detectNestedTransactions given in the connection options reaches db.transaction and must be a boolean', async () => {
    const make = (kind === 'node-postgres' ? drizzlePg : drizzlePostgresJs) as (config: unknown) => unknown;
    const db = make({ connection: { ...local.connectionOptions(), max: 2, onnotice: () => undefined, detectNestedTransactions: false } } as never) as unknown as Db & {
      $client: { end(): Promise<void> };
    };
    closers.push(() => db.$client.end());
    expect(await db.transaction(async () => db.transaction(async () => 10))).toBe(10);
    expect(() => make({ connection: { ...local.connectionOptions() }, detectNestedTransactions: 'no' } as never)).toThrow(/detectNestedTransactions/);
  });
});

it('a transaction(db) or db.transaction() inside pool.transaction() of the DsqlPool under the db is refused', async () => {
  const pool = new DsqlPool({ ...local.connectionOptions(), max: 2, connectionTimeoutMillis: 10_000 });
  closers.push(() => pool.end());
  const db = drizzlePg({ client: pool }) as unknown as Db;
  const errs = await pool.transaction(async () => [
    await transaction(db as never, async (tx: Db) => tx.execute(one), false).catch((e: unknown) => e),
    await db.transaction(async (tx) => tx.execute(one)).catch((e: unknown) => e),
  ]);
  expectNested(errs[0], 'transaction()', 'pool');
  expectNested(errs[1], 'db.transaction()', 'pool');
});
