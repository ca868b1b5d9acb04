import { EventEmitterAsyncResource } from 'node:events';
import { drizzle } from 'drizzle-orm/postgres-js';
import { sql as drizzleSql } from 'drizzle-orm';
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { DsqlUnsupportedError, isDsqlError } from '@dsql/core';
import { dsql, dsqlStats, transaction, type DsqlPostgresOptions, type DsqlSql } from '@dsql/postgres';

let local: DsqlLocal;
const sqls: DsqlSql[] = [];

function newSql(extra: DsqlPostgresOptions = {}): DsqlSql {
  const sql = dsql({ ...local.connectionOptions(), max: 4, onnotice: () => undefined, ...extra });
  sqls.push(sql);
  return sql;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function noteIds(sql: DsqlSql): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`select id from pg_js_nested_notes order by id`;
  return rows.map((r) => r.id);
}

function expectNestedError(err: unknown, called: string): void {
  expect(err).toBeInstanceOf(DsqlUnsupportedError);
  expect(isDsqlError(err, 'unsupported-feature')).toBe(true);
  const message = (err as Error).message;
  expect(message).toContain(`${called} was called inside a transaction callback (sql.begin() or transaction()) of the same sql`);
  expect(message).toContain('Use the `tx` passed to the callback');
}

/** What the endpoint and the `sql` saw while `during` ran: SQL texts received, connections opened. */
async function traffic<T>(sql: DsqlSql, during: () => Promise<T>): Promise<{ value: T; queries: number; opened: number }> {
  const queries = local.stats().queries;
  const opened = dsqlStats(sql)!.connections.opened;
  const value = await during();
  return { value, queries: local.stats().queries - queries, opened: dsqlStats(sql)!.connections.opened - opened };
}

type Begin = (sql: DsqlSql, fn: (tx: DsqlSql) => Promise<unknown>) => Promise<unknown>;
const viaBegin: Begin = (sql, fn) => sql.begin((tx) => fn(tx as unknown as DsqlSql));
const viaTransaction: Begin = (sql, fn) => transaction(sql, (tx) => fn(tx as unknown as DsqlSql), false);
const starters: [string, Begin][] = [
  ['sql.begin()', viaBegin],
  ['transaction()', viaTransaction],
];

beforeAll(async () => {
  local = await startDsqlLocal();
  const setup = newSql({ max: 1 });
  await setup`create table if not exists pg_js_nested_notes (id text primary key)`;
}, 60_000);

beforeEach(async () => {
  await sqls[0]!`delete from pg_js_nested_notes`;
});

afterAll(async () => {
  await Promise.allSettled(sqls.map((sql) => sql.end({ timeout: 1 })));
  await local?.stop();
});

describe('a transaction started on the same sql from inside a transaction callback', () => {
  describe.each(starters)('outer %s', (_outerName, outer) => {
    it.each(starters)('inner %s: rejects at once, sends nothing, opens no connection; the outer one commits', async (innerName, inner) => {
      const sql = newSql();
      await sql`select 1`; // one connection open before
      let innerRan = false;
      let during: { queries: number; opened: number } | undefined;
      let nested: unknown;
      await outer(sql, async (tx) => {
        await tx`insert into pg_js_nested_notes values ('outer')`;
        const seen = await traffic(sql, () =>
          inner(sql, async (t) => {
            innerRan = true;
            await t`insert into pg_js_nested_notes values ('inner')`;
          }).catch((e: unknown) => e),
        );
        nested = seen.value;
        during = { queries: seen.queries, opened: seen.opened };
        await tx`insert into pg_js_nested_notes values ('outer-after')`;
      });
      expectNestedError(nested, innerName);
      expect(innerRan).toBe(false);
      expect(during).toEqual({ queries: 0, opened: 0 });
      expect(await noteIds(sql)).toEqual(['outer', 'outer-after']);
    });
  });

  it('rethrown, the error rolls the outer transaction back and is not retried', async () => {
    const sql = newSql();
    let runs = 0;
    const err = await transaction(sql, async (tx) => {
      runs++;
      await tx`insert into pg_js_nested_notes values ('rolled-back')`;
      await sql.begin((inner) => inner`select 1`);
    }).catch((e: unknown) => e);
    expectNestedError(err, 'sql.begin()');
    expect(runs).toBe(1);
    expect(await noteIds(sql)).toEqual([]);
  });

  it.each(starters)('with max: 1 (the outer transaction holds the only connection) %s fails fast instead of waiting forever', async (name, inner) => {
    const sql = newSql({ max: 1 });
    let outcome: unknown;
    await sql.begin(async (tx) => {
      await tx`select 1`;
      // Unguarded, the inner call would wait for the one connection for ever: Postgres.js has no queue timeout.
      const attempt = inner(sql, async () => 'never').catch((e: unknown) => e);
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise((resolve) => (timer = setTimeout(resolve, 3_000, 'still waiting for a connection')));
      outcome = await Promise.race([attempt, stuck]);
      clearTimeout(timer);
    });
    expectNestedError(outcome, name);
    expect(dsqlStats(sql)!.connections.opened).toBe(1);
    expect(await transaction(sql, (tx) => tx`select 7 as n`)).toEqual([{ n: 7 }]);
  }, 15_000);

  it('is recognised in every attempt of a retried outer transaction', async () => {
    const sql = newSql();
    local.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction, please retry: (OC000)' } });
    const nested: unknown[] = [];
    await transaction(
      sql,
      async (tx) => {
        nested.push(await transaction(sql, async () => undefined).catch((e: unknown) => e));
        await tx`insert into pg_js_nested_notes values ('retried')`;
      },
      { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    );
    expect(nested).toHaveLength(2);
    for (const err of nested) expectNestedError(err, 'transaction()');
    expect(await noteIds(sql)).toEqual(['retried']);
  });

  it('from code the callback awaits, and from a timer that fires while the callback is still running', async () => {
    const sql = newSql();
    const helper = async (): Promise<unknown> => {
      await sleep(1);
      return sql.begin((t) => t`select 1`).catch((e: unknown) => e);
    };
    const [fromHelper, fromTimer] = await sql.begin(async () => {
      const viaTimer = new Promise<unknown>((resolve) => setTimeout(() => sql.begin((t) => t`select 1`).then(resolve, resolve), 5));
      return [await helper(), await viaTimer];
    });
    expectNestedError(fromHelper, 'sql.begin()');
    expectNestedError(fromTimer, 'sql.begin()');
  });

  it("Drizzle's db.transaction() (sql.begin underneath) called with db inside db.transaction()", async () => {
    const sql = newSql();
    const db = drizzle(sql);
    let nested: unknown;
    await db.transaction(async (tx) => {
      await tx.execute(drizzleSql`insert into pg_js_nested_notes values ('drizzle-outer')`);
      nested = await db.transaction(async (inner) => inner.execute(drizzleSql`select 1`)).catch((e: unknown) => e);
    });
    expectNestedError(nested, 'sql.begin()');
    expect(await noteIds(sql)).toEqual(['drizzle-outer']);
  });
});

describe('what is not a nested transaction', () => {
  it('sequential transactions, also after a refused nested one', async () => {
    const sql = newSql({ max: 2 });
    await sql.begin((tx) => tx`insert into pg_js_nested_notes values ('one')`);
    await transaction(sql, async () => sql.begin(async () => undefined)).catch(() => undefined);
    await transaction(sql, (tx) => tx`insert into pg_js_nested_notes values ('two')`);
    await sql.begin((tx) => tx`insert into pg_js_nested_notes values ('three')`);
    expect(await noteIds(sql)).toEqual(['one', 'three', 'two']);
  });

  it.each(starters)('concurrent top-level transactions (Promise.all) with both callbacks open at once: %s', async (_name, begin) => {
    const sql = newSql();
    let entered = 0;
    let bothIn!: () => void;
    const together = new Promise<void>((resolve) => (bothIn = resolve));
    const work = (id: string): Promise<unknown> =>
      begin(sql, async (tx) => {
        if (++entered === 2) bothIn();
        await together; // neither callback ends before the other has started
        await tx`insert into pg_js_nested_notes values (${id})`;
        return id;
      });
    expect(await Promise.all([work('a'), work('b')])).toEqual(['a', 'b']);
    expect(await noteIds(sql)).toEqual(['a', 'b']);
  });

  it('a timer, a promise chain and an async-resource event handler scheduled inside a callback that run after it ended', async () => {
    const sql = newSql();
    let late!: EventEmitterAsyncResource;
    const results: Promise<unknown>[] = [];
    let fromTimer!: Promise<unknown>;
    let fromHandler!: Promise<unknown>;
    const timerFired = new Promise<void>((resolve) => {
      void sql.begin(async (tx) => {
        await tx`select 1`;
        // Each of these carries the callback's async context, but runs after the callback settled.
        setTimeout(() => {
          fromTimer = sql.begin((t) => t`insert into pg_js_nested_notes values ('timer')`);
          resolve();
        }, 30);
        results.push(sleep(20).then(() => transaction(sql, (t) => t`insert into pg_js_nested_notes values ('chain')`)));
        late = new EventEmitterAsyncResource({ name: 'late-events' });
        late.once('go', () => {
          fromHandler = transaction(sql, (t) => t`insert into pg_js_nested_notes values ('handler')`);
        });
      });
    });
    await timerFired;
    late.emit('go');
    await Promise.all([...results, fromTimer, fromHandler]);
    late.emitDestroy();
    expect(await noteIds(sql)).toEqual(['chain', 'handler', 'timer']);
  });

  it('…also while another, unrelated transaction callback is open the whole time', async () => {
    // With a callback open somewhere the storage stays enabled and the late work still carries
    // the ended callback's context: only its "ended" mark tells it apart from a nested call.
    const sql = newSql();
    let releaseBackground!: () => void;
    const backgroundHeld = new Promise<void>((resolve) => (releaseBackground = resolve));
    let backgroundIn!: () => void;
    const backgroundEntered = new Promise<void>((resolve) => (backgroundIn = resolve));
    const background = transaction(sql, async () => {
      backgroundIn();
      await backgroundHeld;
    });
    await backgroundEntered;

    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const late: Promise<unknown>[] = [];
    await sql.begin(async (tx) => {
      await tx`select 1`;
      setTimeout(async () => {
        await gate;
        late.push(sql.begin((t) => t`insert into pg_js_nested_notes values ('timer')`));
      }, 0);
      void (async () => {
        await gate;
        late.push(transaction(sql, (t) => t`insert into pg_js_nested_notes values ('chain')`));
      })();
    });
    await sleep(5); // the timer has fired and waits at the gate
    openGate();
    await gate;
    while (late.length < 2) await sleep(1);
    const outcomes = await Promise.allSettled(late);
    releaseBackground();
    await background;
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await noteIds(sql)).toEqual(['chain', 'timer']);
  });

  it('a transaction of another dsql() sql inside the callback (and the first sql nested under it is still refused)', async () => {
    const first = newSql();
    const second = newSql();
    let sameAgain: unknown;
    await transaction(first, async (tx) => {
      await tx`insert into pg_js_nested_notes values ('first')`;
      await second.begin(async (tx2) => {
        await tx2`insert into pg_js_nested_notes values ('second')`;
        sameAgain = await first.begin(async () => undefined).catch((e: unknown) => e);
      });
    });
    expectNestedError(sameAgain, 'sql.begin()');
    expect(await noteIds(first)).toEqual(['first', 'second']);
  });

  it('with detectNestedTransactions: false nothing is checked: the inner call is a separate transaction', async () => {
    const sql = newSql({ detectNestedTransactions: false });
    const err = await transaction(sql, async (tx) => {
      await tx`insert into pg_js_nested_notes values ('outer')`;
      await sql.begin((inner) => inner`insert into pg_js_nested_notes values ('independent')`);
      throw new Error('outer fails');
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('outer fails');
    // The "inner" work committed although the outer transaction rolled back: the hazard the check prevents.
    expect(await noteIds(sql)).toEqual(['independent']);
  });

  it('sql`…` and sql.reserve() inside a callback work and see the database outside the open transaction', async () => {
    const sql = newSql({ max: 3 });
    const seen = await sql.begin(async (tx) => {
      await tx`insert into pg_js_nested_notes values ('uncommitted')`;
      const [viaSql] = await sql<{ n: number }[]>`select count(*)::int as n from pg_js_nested_notes`;
      const reserved = await sql.reserve();
      try {
        const [viaReserved] = await reserved<{ n: number }[]>`select count(*)::int as n from pg_js_nested_notes`;
        const [inside] = await tx<{ n: number }[]>`select count(*)::int as n from pg_js_nested_notes`;
        return { viaSql: viaSql!.n, viaReserved: viaReserved!.n, inside: inside!.n };
      } finally {
        reserved.release();
      }
    });
    expect(seen).toEqual({ viaSql: 0, viaReserved: 0, inside: 1 });
  });
});

describe('the detectNestedTransactions option', () => {
  it.each([['yes', '"yes"'], [1, 'a number'], [null, 'null']])('refuses %j naming the field', (value, given) => {
    let err: unknown;
    try {
      dsql({ ...local.connectionOptions(), detectNestedTransactions: value as unknown as boolean });
    } catch (e) {
      err = e;
    }
    expect(isDsqlError(err, 'invalid-config')).toBe(true);
    expect((err as Error).message).toContain('detectNestedTransactions');
    expect((err as Error).message).toContain(given);
    expect((err as Error).message).toContain('true or false');
  });

  it('is not passed to Postgres.js', () => {
    const sql = newSql({ detectNestedTransactions: true });
    expect(Object.keys(sql.options)).not.toContain('detectNestedTransactions');
    expect(Object.keys(sql.options.connection)).not.toContain('detectNestedTransactions');
  });
});
