import type { DsqlLocal } from '@dsql/local';
import { isConnectionLoss } from '@dsql/core';
import { dsql } from '@dsql/postgres';
import { withLocal } from './support/local.js';

// A reservation waiting for a connection when a connection closes. Postgres.js 3.4.9 hands the
// waiting reservation to the closed connection's reconnect and then drops it once reconnected
// (porsager/postgres#1195): `sql.reserve()` never settles, and every Kysely transaction waiting
// behind it hangs. These tests time out (fail) unless dsql() rescues such a reservation.

let local: DsqlLocal;

withLocal((started) => (local = started));

async function rejection(p: PromiseLike<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** Resolves to the value, or to 'pending' when `p` has not settled after `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('sql.reserve() waiting while a connection closes', () => {
  it('the waiting reservation gets the reconnected connection (max 1, the holder loses its connection)', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1, onnotice: () => undefined });
    try {
      const first = await sql.reserve();
      await first`select 1`;
      const waiting = sql.reserve(); // queued: the only connection is reserved
      await new Promise((r) => setTimeout(r, 20));
      local.inject({ on: 'query', drop: true, match: 'stranded_reserve_marker' });
      expect(isConnectionLoss(await rejection(first`select 'stranded_reserve_marker'`))).toBe(true);
      first.release();
      const second = await within(waiting, 5_000);
      expect(second).not.toBe('pending');
      if (second === 'pending') return;
      const [row] = await second`select 2 as v`;
      expect(row!.v).toBe(2);
      second.release();
      const [after] = await sql`select 3 as v`;
      expect(after!.v).toBe(3);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);

  it('several waiting reservations and several closes: every one is served, none is handed out twice', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 2, onnotice: () => undefined });
    try {
      const holders = await Promise.all([sql.reserve(), sql.reserve()]);
      await Promise.all(holders.map((h, i) => h`select ${i}::int`));
      const waiting = Array.from({ length: 5 }, () => sql.reserve());
      await new Promise((r) => setTimeout(r, 20));
      local.inject({ on: 'query', drop: true, match: 'stranded_many_marker', times: 2 });
      await Promise.all(holders.map((h) => rejection(h`select 'stranded_many_marker'`)));
      holders.forEach((h) => h.release());
      // Each waiting reservation holds its connection a moment: no two may hold the same one.
      const held = new Set<number>();
      const shared: number[] = [];
      const served = await within(
        Promise.all(
          waiting.map(async (p, i) => {
            const r = await p;
            const [row] = await r`select ${i}::int as v, pg_backend_pid() as pid`;
            if (held.has(row!.pid as number)) shared.push(i);
            held.add(row!.pid as number);
            await new Promise((done) => setTimeout(done, 30));
            held.delete(row!.pid as number);
            r.release();
            return row!.v as number;
          }),
        ),
        10_000,
      );
      expect(served).toEqual([0, 1, 2, 3, 4]);
      expect(shared).toEqual([]);
      const [after] = await sql`select 5 as v`;
      expect(after!.v).toBe(5);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 30_000);
});
