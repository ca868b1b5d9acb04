import { jest } from '@jest/globals';
import { sql, type Generated, type Kysely } from 'kysely';
import { isDsqlError, transaction } from '../src/index.js';
import { database, DRIVER_KINDS, startLocal, type DriverKind, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local?.stop();
});

interface Tables {
  products: { id: Generated<string>; name: string; price: number; stock: number };
  counters: { id: string; n: number };
}

/** One table pair per driver kind, so the suites stay independent. */
type DB = { [K in `${DriverKind}_products`]: Tables['products'] } & { [K in `${DriverKind}_counters`]: Tables['counters'] };

describe.each<DriverKind>(DRIVER_KINDS)('through the %s driver', (kind) => {
  const products = `${kind}_products` as const;
  const counters = `${kind}_counters` as const;
  let db: Kysely<DB>;

  beforeAll(async () => {
    db = database<DB>(local, kind);
    // One DDL statement per call: DSQL runs each in its own transaction.
    await db.schema
      .createTable(products)
      .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('price', 'integer', (c) => c.notNull())
      .addColumn('stock', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createTable(counters).addColumn('id', 'text', (c) => c.primaryKey()).addColumn('n', 'integer', (c) => c.notNull()).execute();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('CRUD through the typed query builder', async () => {
    const inserted = await db
      .insertInto(products)
      .values([
        { name: 'pen', price: 150, stock: 10 },
        { name: 'ink', price: 900, stock: 2 },
      ])
      .returning(['id', 'name'])
      .execute();
    expect(inserted.map((r) => r.name)).toEqual(['pen', 'ink']);
    expect(inserted[0]!.id).toMatch(/^[0-9a-f-]{36}$/);

    const cheap = await db.selectFrom(products).select(['name', 'price']).where('price', '<', 500).execute();
    expect(cheap).toEqual([{ name: 'pen', price: 150 }]);

    const updated = await db.updateTable(products).set((eb) => ({ stock: eb('stock', '-', 1) })).where('name', '=', 'pen').executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(1n);
    const pen = await db.selectFrom(products).select('stock').where('id', '=', inserted[0]!.id).executeTakeFirstOrThrow();
    expect(pen.stock).toBe(9);

    const deleted = await db.deleteFrom(products).where('name', '=', 'ink').executeTakeFirst();
    expect(deleted.numDeletedRows).toBe(1n);
    const left = await db.selectFrom(products).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(left.n)).toBe(1);
  });

  it('transaction() commits, and rolls back on error', async () => {
    const id = await transaction(db, async (trx) => {
      const row = await trx.insertInto(products).values({ name: 'pad', price: 300, stock: 1 }).returning('id').executeTakeFirstOrThrow();
      await trx.updateTable(products).set({ stock: 5 }).where('id', '=', row.id).execute();
      return row.id;
    });
    expect(await db.selectFrom(products).select('stock').where('id', '=', id).executeTakeFirstOrThrow()).toEqual({ stock: 5 });

    const failed = await transaction(db, async (trx) => {
      await trx.updateTable(products).set({ stock: 0 }).where('id', '=', id).execute();
      throw new Error('changed my mind');
    }).catch((e: unknown) => e);
    expect((failed as Error).message).toBe('changed my mind');
    expect(await db.selectFrom(products).select('stock').where('id', '=', id).executeTakeFirstOrThrow()).toEqual({ stock: 5 });
  });

  it('OCC hot row: concurrent read-modify-write transactions retry to an exact total', async () => {
    await db.insertInto(counters).values({ id: 'hot', n: 0 }).execute();
    const workers = 6;
    const perWorker = 5;
    let retries = 0;
    let runs = 0;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (let i = 0; i < perWorker; i++) {
          await transaction(
            db,
            async (trx) => {
              runs++;
              // Read, then write what was read plus one: only OCC keeps this from losing updates.
              const { n } = await trx.selectFrom(counters).select('n').where('id', '=', 'hot').executeTakeFirstOrThrow();
              await trx.updateTable(counters).set({ n: n + 1 }).where('id', '=', 'hot').execute();
            },
            { maxAttempts: 100, maxElapsedMs: 50_000, onRetry: () => void retries++ },
          );
        }
      }),
    );
    const { n } = await db.selectFrom(counters).select('n').where('id', '=', 'hot').executeTakeFirstOrThrow();
    expect(n).toBe(workers * perWorker);
    // The workers did collide: some callbacks ran more than once.
    expect(retries).toBeGreaterThan(0);
    expect(runs).toBe(workers * perWorker + retries);
  });

  it('savepoints and isolation levels DSQL lacks fail before reaching the server', async () => {
    const nested = await transaction(db, async (trx) => transaction(trx as unknown as Kysely<DB>, async () => 1)).catch((e: unknown) => e);
    expect(isDsqlError(nested, 'unsupported-feature')).toBe(true);

    const trx = await db.startTransaction().execute();
    try {
      const savepoint = await trx.savepoint('sp').execute().catch((e: unknown) => e);
      expect(isDsqlError(savepoint, 'unsupported-feature')).toBe(true);
      expect((savepoint as Error).message).toMatch(/no SAVEPOINT/);
      // The refusal happened client-side: the transaction is still usable.
      expect(await trx.selectFrom(counters).select('id').where('id', '=', 'none').execute()).toEqual([]);
      await trx.commit().execute();
    } finally {
      if (!trx.isCommitted) await trx.rollback().execute();
    }

    const serializable = await db.transaction().setIsolationLevel('serializable').execute(async () => 1).catch((e: unknown) => e);
    expect(isDsqlError(serializable, 'unsupported-feature')).toBe(true);
    expect((serializable as Error).message).toMatch(/REPEATABLE READ/);
    expect(await db.transaction().setIsolationLevel('repeatable read').execute(async () => 'ok')).toBe('ok');

    // The access mode rides on the BEGIN (DSQL refuses SET TRANSACTION).
    const readOnly = await db
      .transaction()
      .setAccessMode('read only')
      .execute((trx) => trx.insertInto(counters).values({ id: 'ro', n: 1 }).execute())
      .catch((e: unknown) => e);
    expect((readOnly as { code?: string }).code).toBe('25006');
    expect(await db.transaction().setAccessMode('read only').execute((trx) => trx.selectFrom(counters).select('id').where('id', '=', 'ro').execute())).toEqual([]);
  });
});
