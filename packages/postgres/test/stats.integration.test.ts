import type { DsqlLocal } from '@dsql/local';
import { dsql, dsqlStats, transaction } from '@dsql/postgres';
import { withLocal } from './support/local.js';

// dsqlStats(sql).connections on both Postgres.js lines (this suite runs on 4 and on 3.4): 4's
// public sql.stats (with its queue length), 3.4's counted on this package's sockets (no queue: null).

let local: DsqlLocal;
withLocal((started) => (local = started));

/** Polls (bounded) until `check` holds; fails naming what was awaited. */
async function until<T>(what: string, read: () => T, check: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

it('connections by state: idle after a query, used in a transaction, a waiting query counted where Postgres.js says', async () => {
  const sql = dsql({ ...local.connectionOptions(), max: 1 });
  const v4 = 'stats' in sql;
  try {
    await sql`select 1`;
    expect(dsqlStats(sql)!.connections).toMatchObject({ open: 1, idle: 1, used: 0, pending: v4 ? 0 : null });

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const tx = transaction(sql, async (t) => {
      await t`select 1`;
      entered();
      await held;
    });
    await inside;
    expect(dsqlStats(sql)!.connections).toMatchObject({ open: 1, idle: 0, used: 1 });
    // A query while the only connection is in the transaction waits for it.
    const waiting = sql`select 2 as two`;
    void waiting.catch(() => undefined);
    if (v4) await until('the query to wait for the connection', () => dsqlStats(sql)!.connections.pending, (n) => n === 1);
    else expect(dsqlStats(sql)!.connections.pending).toBeNull();
    release();
    await tx;
    expect(await waiting).toEqual([{ two: 2 }]);
    await until('the connection to be idle again', () => dsqlStats(sql)!.connections, (c) => c.idle === 1 && c.used === 0);
    const stats = dsqlStats(sql)!;
    expect(stats.transactions).toMatchObject({ calls: 1, retries: 0, attempts: { committed: 1, occ_conflict: 0, transient: 0, commit_unknown: 0, error: 0 } });
    expect(stats.connectAttempts).toEqual({ ok: 1, refused: 0, rate_limited: 0, timeout: 0, error: 0 });
  } finally {
    await sql.end({ timeout: 5 });
  }
  await until('the close to be counted', () => dsqlStats(sql)!, (s) => s.connectionsClosed.client === 1 && s.connections.open === 0);
});
