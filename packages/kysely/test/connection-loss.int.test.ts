import { isConnectionLoss } from '@dsql/core';
import { dsql } from '@dsql/postgres';
import { Kysely, sql } from 'kysely';
import { DsqlDialect, transaction } from '../src/index.js';
import { startDsqlLocal } from '@dsql/local';
import { startLocal, type DsqlLocal } from './support/local.js';

// Kysely on Postgres.js (dsql()) while connections close under it. Every Kysely connection is a
// reserved Postgres.js connection (`sql.reserve()`); a transaction waiting for one when a
// connection closed used to wait forever (Postgres.js 3.4.9 drops a reservation it hands to a
// reconnect, porsager/postgres#1195), which hung the chaos test's Kysely workers.

let local: DsqlLocal;

beforeAll(async () => {
  local = await startLocal();
}, 60_000);

afterAll(async () => {
  await local?.stop();
});

/** Resolves to the outcome, or to 'pending' when `p` has not settled after `ms`. */
async function outcome(p: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        (v) => ({ value: v }),
        (e: unknown) => ({ error: e }),
      ),
      new Promise((r) => (timer = setTimeout(() => r('pending'), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Kysely on dsql(): a connection lost while other transactions wait for one', () => {
  it('the waiting transaction runs on the reconnected connection (pool of 1)', async () => {
    const db = new Kysely<Record<string, never>>({ dialect: new DsqlDialect({ postgres: dsql({ ...local.connectionOptions(), max: 1, onnotice: () => undefined }) }) });
    try {
      let holding!: () => void;
      const held = new Promise<void>((r) => (holding = r));
      let proceed!: () => void;
      const go = new Promise<void>((r) => (proceed = r));
      const first = db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        holding();
        await go;
        await sql`select 'kysely_waiting_drop'`.execute(trx);
      });
      await held;
      // Waits for the only connection, which the first transaction holds.
      const second = db.transaction().execute(async (trx) => (await sql<{ v: number }>`select 2 as v`.execute(trx)).rows[0]!.v);
      await new Promise((r) => setTimeout(r, 20));
      local.inject({ on: 'query', drop: true, match: 'kysely_waiting_drop' });
      proceed();
      const lost = (await outcome(first, 5_000)) as { error?: unknown };
      expect(isConnectionLoss(lost.error)).toBe(true);
      expect(await outcome(second, 5_000)).toEqual({ value: 2 });
      expect(await outcome(sql<{ v: number }>`select 3 as v`.execute(db).then((r) => r.rows[0]!.v), 5_000)).toEqual({ value: 3 });
    } finally {
      await db.destroy();
    }
  }, 30_000);

  it('transactions keep settling while the endpoint closes connections for age under them', async () => {
    // Sessions closed at 1 s of age (at their next idle moment), lifetimes longer than that:
    // connections close under the pool every second while 3 callers share a pool of 2.
    const aged = await startDsqlLocal({ maxConnectionAgeSeconds: 1 });
    const db = new Kysely<Record<string, never>>({
      dialect: new DsqlDialect({ postgres: dsql({ ...aged.connectionOptions(), max: 2, maxLifetimeSeconds: [60, 61], onnotice: () => undefined }) }),
    });
    try {
      await sql`create table aged_counters (id int primary key, n int not null)`.execute(db);
      await sql`insert into aged_counters values (1, 0), (2, 0), (3, 0)`.execute(db);
      const deadline = Date.now() + 3_000;
      const outcomes = await Promise.all(
        [1, 2, 3].map(async (id) => {
          const seen: unknown[] = [];
          while (Date.now() < deadline) {
            const o = await outcome(
              transaction(db, async (trx) => {
                await sql`update aged_counters set n = n + 1 where id = ${id}`.execute(trx);
              }),
              5_000,
            );
            seen.push(o);
            if (o === 'pending') break;
          }
          return seen;
        }),
      );
      const all = outcomes.flat();
      expect(all.filter((o) => o === 'pending')).toEqual([]);
      expect(all.filter((o) => (o as { error?: unknown }).error !== undefined)).toEqual([]);
      const counted = await sql<{ n: number }>`select sum(n)::int as n from aged_counters`.execute(db);
      expect(counted.rows[0]!.n).toBe(all.length);
      expect(aged.stats().closedForAge).toBeGreaterThan(0);
    } finally {
      await db.destroy();
      await aged.stop();
    }
  }, 60_000);
});
