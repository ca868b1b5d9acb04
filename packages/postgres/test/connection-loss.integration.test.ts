import postgres from 'postgres';
import { Kysely, sql as kyselySql } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import type { DsqlLocal } from '@dsql/local';
import { isConnectionLoss } from '@dsql/core';
import { dsql, transaction } from '@dsql/postgres';
import { withLocal } from './support/local.js';

// Connections lost inside transactions, with the error wrapped by the application or an ORM,
// and on reserved connections (kysely-postgres-js). Postgres.js 3.4 writes its ROLLBACK (or the
// next statement) to the socket it has already dropped when that happens: an uncaught TypeError
// from a timer that ends the process. These tests fail (the jest worker reports the uncaught
// error) unless @dsql/postgres keeps Postgres.js off that path.

let local: DsqlLocal;

withLocal((started) => (local = started));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function rejection(p: PromiseLike<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('sql.begin: a wrapped connection error is still recognised', () => {
  it('an AggregateError around the driver error (deeper than the old 4-level walk too)', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 2 });
    try {
      local.inject({ on: 'query', drop: true, match: 'aggregate_drop_marker' });
      const err = await rejection(
        sql.begin(async (tx) => {
          try {
            await tx`select 'aggregate_drop_marker'`;
          } catch (e) {
            let wrapped: unknown = new AggregateError([new Error('unrelated'), e], 'batch failed');
            for (let i = 0; i < 4; i++) wrapped = new Error(`layer ${i}`, { cause: wrapped });
            throw wrapped;
          }
        }),
      );
      expect(isConnectionLoss(err)).toBe(true);
      await sleep(50); // a ROLLBACK on the dead connection would crash from a timer about now
      const [row] = await sql`select 1 as v`;
      expect(row!.v).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);

  it('transaction() retries the wrapped loss on a new connection (COMMIT was never sent)', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 2 });
    try {
      local.inject({ on: 'query', drop: true, match: 'aggregate_retry_marker' });
      let runs = 0;
      const value = await transaction(sql, async (tx) => {
        runs++;
        try {
          await tx`select 'aggregate_retry_marker'`;
        } catch (e) {
          throw new AggregateError([e], 'wrapped');
        }
        return 'ok';
      });
      expect(value).toBe('ok');
      expect(runs).toBe(2);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);
});

describe('transaction(): the connection is lost before COMMIT was sent', () => {
  it('a callback that catches the loss and returns is retried (not reported as a lost COMMIT)', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 2 });
    try {
      for (let i = 0; i < 3; i++) {
        local.inject({ on: 'query', drop: true, match: 'swallowed_loss_marker' });
        const seen: unknown[] = [];
        const value = await transaction(sql, async (tx) => {
          try {
            await tx`select 'swallowed_loss_marker'`;
          } catch (e) {
            seen.push(e);
            return 'swallowed';
          }
          return 'committed';
        });
        expect(value).toBe('committed');
        expect(seen).toHaveLength(1);
        expect(isConnectionLoss(seen[0])).toBe(true);
      }
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);
});

describe('sql.reserve(): the reserved connection is lost', () => {
  it('inside a transaction: ROLLBACK and later statements reject, release() leaves the pool healthy', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1 });
    try {
      const reserved = await sql.reserve();
      await reserved`begin`;
      await reserved`select 1`;
      local.inject({ on: 'query', drop: true, match: 'reserved_drop_marker' });
      const lost = await rejection(reserved`select 'reserved_drop_marker'`);
      expect(isConnectionLoss(lost)).toBe(true);
      const rollback = await rejection(reserved.unsafe('rollback'));
      expect((rollback as { code?: string }).code).toBe('CONNECTION_CLOSED');
      expect(await rejection(reserved`select 2`)).toMatchObject({ code: 'CONNECTION_CLOSED' });
      reserved.release();
      await sleep(50);
      const rows = await Promise.all([sql`select 3 as v`, sql`select 4 as v`]);
      expect(rows.map((r) => r[0]!.v)).toEqual([3, 4]);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);

  it('between statements of its transaction (nothing running): the next statement rejects instead of crashing', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1 });
    const upstream = postgres(local.upstreamUrl, { max: 1, onnotice: () => undefined });
    try {
      const reserved = await sql.reserve();
      await reserved`begin`;
      await reserved`select 'idle_in_tx_marker'`;
      // The server ends the session while the application holds the connection idle in its transaction.
      const killed = await upstream`
        select pg_terminate_backend(pid) as ok from pg_stat_activity
        where state = 'idle in transaction' and query like '%idle_in_tx_marker%' and pid <> pg_backend_pid()`;
      expect(killed).toHaveLength(1);
      await sleep(100);
      expect(await rejection(reserved`select 2`)).toMatchObject({ code: 'CONNECTION_CLOSED' });
      expect(await rejection(reserved.unsafe('rollback'))).toMatchObject({ code: 'CONNECTION_CLOSED' });
      reserved.release();
      await sleep(50);
      const [row] = await sql`select 3 as v`;
      expect(row!.v).toBe(3);
    } finally {
      await upstream.end();
      await sql.end({ timeout: 1 });
    }
  }, 20_000);

  it('a healthy reserved connection works as before: statements, helpers, release, and reuse', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1 });
    try {
      const reserved = await sql.reserve();
      const [a] = await reserved`select ${reserved('v')} from (select ${5}::int as v) t`; // an identifier helper
      expect(a!.v).toBe(5);
      const [b] = await reserved.unsafe('select $1::int as v', [6]);
      expect(b!.v).toBe(6);
      reserved.release();
      const [c] = await sql`select 7 as v`;
      expect(c!.v).toBe(7);
    } finally {
      await sql.end();
    }
  }, 20_000);

  it('kysely-postgres-js: a connection lost inside db.transaction() rejects, and the db keeps working', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 2 });
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresJSDialect({ postgres: sql }) });
    try {
      local.inject({ on: 'query', drop: true, match: 'kysely_reserved_drop' });
      const err = await rejection(
        db.transaction().execute(async (trx) => {
          await kyselySql`select 'kysely_reserved_drop'`.execute(trx);
        }),
      );
      // Kysely answers the failure with ROLLBACK, which rejects with CONNECTION_CLOSED; Kysely
      // 0.28.19 then calls a discard hook kysely-postgres-js 3.0 lacks, so what reaches us is
      // Kysely's own TypeError. The point here: the transaction rejects and the process lives on.
      expect(err).toBeInstanceOf(Error);
      await sleep(50);
      const results = await Promise.all([1, 2, 3].map((i) => kyselySql<{ v: number }>`select ${i}::int as v`.execute(db)));
      expect(results.map((r) => r.rows[0]!.v)).toEqual([1, 2, 3]);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);
});

describe('sql.begin: the connection closes while the callback waits for something else', () => {
  /** Ends the upstream session `pid` (the server cutting it). */
  async function cut(pid: Promise<number>): Promise<void> {
    const upstream = postgres(local.upstreamUrl, { max: 1, onnotice: () => undefined });
    try {
      const [row] = await upstream`select pg_terminate_backend(${await pid}::int) as ok`;
      expect(row!.ok).toBe(true);
    } finally {
      await upstream.end();
    }
  }
  /** A promise of the session's pid, and the function that resolves it from inside the transaction. */
  function pidSlot(): [Promise<number>, (tx: postgres.TransactionSql) => Promise<void>] {
    let found!: (pid: number) => void;
    const pid = new Promise<number>((r) => (found = r));
    return [pid, async (tx) => found(((await tx`select pg_backend_pid() as pid`)[0]!.pid) as number)];
  }

  it('a statement after the loss rejects (CONNECTION_CLOSED) instead of crashing, and so does begin', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1, onnotice: () => undefined });
    const [pid, record] = pidSlot();
    try {
      let statementError: unknown;
      const outcome = rejection(
        sql.begin(async (tx) => {
          await record(tx);
          await sleep(300); // the application waits on something else; the session is cut meanwhile
          statementError = await rejection(tx`select 2`);
          return 'done';
        }),
      );
      await cut(pid);
      expect(isConnectionLoss(await outcome)).toBe(true);
      await sleep(400);
      expect(statementError).toMatchObject({ code: 'CONNECTION_CLOSED' });
      const [row] = await sql`select 3 as v`;
      expect(row!.v).toBe(3);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);

  it('a callback that returns after the loss sends no COMMIT (to the dropped socket): begin rejects, the pool works', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1, onnotice: () => undefined });
    const [pid, record] = pidSlot();
    try {
      const outcome = rejection(
        sql.begin(async (tx) => {
          await record(tx);
          await sleep(300);
          return 'done';
        }),
      );
      await cut(pid);
      expect(isConnectionLoss(await outcome)).toBe(true);
      await sleep(400); // the callback has returned; nothing else used the connection meanwhile
      const [row] = await sql`select 4 as v`;
      expect(row!.v).toBe(4);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);

  it("nor into the next transaction on the reconnected connection (it would commit that transaction's work)", async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1, onnotice: () => undefined });
    const [pid, record] = pidSlot();
    try {
      await sql`create table if not exists loss_rows (id text primary key)`;
      const first = rejection(
        sql.begin(async (tx) => {
          await record(tx);
          await sleep(300);
          return 'first';
        }),
      );
      await cut(pid);
      expect(isConnectionLoss(await first)).toBe(true);
      // Reconnects the connection, and is still open when the first callback returns.
      const second = rejection(
        sql.begin(async (tx) => {
          await tx`insert into loss_rows values ('second')`;
          await sleep(400);
          throw new Error('second gives up');
        }),
      );
      expect(await second).toMatchObject({ message: 'second gives up' });
      expect(await sql`select id from loss_rows where id = 'second'`).toHaveLength(0);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);

  it('a callback that throws after the loss sends no ROLLBACK: the connection error is the answer', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1, onnotice: () => undefined });
    const [pid, record] = pidSlot();
    try {
      const outcome = rejection(
        sql.begin(async (tx) => {
          await record(tx);
          await sleep(300);
          throw new Error('the application gave up');
        }),
      );
      await cut(pid);
      expect(isConnectionLoss(await outcome)).toBe(true);
      await sleep(400);
      const [row] = await sql`select 7 as v`;
      expect(row!.v).toBe(7);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);

  it('transaction() retries such a transaction on a new connection', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1, onnotice: () => undefined });
    try {
      const [pid, record] = pidSlot();
      let runs = 0;
      const value = transaction(sql, async (tx) => {
        runs++;
        if (runs === 1) {
          await record(tx);
          await sleep(300);
        }
        await tx`select 1`;
        return runs;
      });
      await cut(pid);
      expect(await value).toBe(2);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);
});
