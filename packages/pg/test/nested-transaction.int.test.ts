import { jest } from '@jest/globals';
import { EventEmitterAsyncResource } from 'node:events';
import pg from 'pg';
import type { DsqlLocal } from '@dsql/local';
import { DsqlUnsupportedError, isDsqlError } from '@dsql/core';
import { DsqlClient, DsqlPool, type DsqlPoolConfig } from '../src/index.js';
import { countingCredentials, sleep, startLocal } from './support/local.js';

jest.setTimeout(30_000);

let local: DsqlLocal;
const pools: DsqlPool[] = [];

function newPool(extra: DsqlPoolConfig = {}): DsqlPool {
  const pool = new DsqlPool({ ...local.connectionOptions(), credentials: countingCredentials(local), ...extra });
  pool.on('error', () => {});
  pools.push(pool);
  return pool;
}

/** Checkouts of a pool (pg-pool's `acquire` event fires for every client handed out). */
function countCheckouts(pool: DsqlPool): { readonly n: number } {
  const counter = { n: 0 };
  pool.on('acquire', () => counter.n++);
  return counter;
}

async function noteIds(pool: DsqlPool): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM nested_notes ORDER BY id');
  return rows.map((r) => r.id);
}

function expectNestedError(err: unknown, called: string): void {
  expect(err).toBeInstanceOf(DsqlUnsupportedError);
  expect(isDsqlError(err, 'unsupported-feature')).toBe(true);
  const message = (err as Error).message;
  expect(message).toContain(`${called} was called inside a transaction() callback of the same pool`);
  expect(message).toContain('Use the `tx` passed to the callback');
}

beforeAll(async () => {
  local = await startLocal();
  const setup = new pg.Client({ connectionString: local.upstreamUrl });
  await setup.connect();
  await setup.query('CREATE TABLE IF NOT EXISTS nested_notes (id text PRIMARY KEY)');
  await setup.end();
});

beforeEach(async () => {
  const setup = new pg.Client({ connectionString: local.upstreamUrl });
  await setup.connect();
  await setup.query('DELETE FROM nested_notes');
  await setup.end();
});

afterAll(async () => {
  await Promise.allSettled(pools.filter((p) => !p.ending).map((p) => p.end()));
  await local?.stop();
});

describe('a nested transaction started from inside a transaction callback', () => {
  it('pool.transaction() inside pool.transaction(): rejects at once, checks nothing out, the outer one commits', async () => {
    const pool = newPool({ max: 4 });
    const checkouts = countCheckouts(pool);
    let innerRan = false;
    let nested: unknown;
    let during: { total: number; checkouts: number } | undefined;
    await pool.transaction(async (tx) => {
      await tx.query("INSERT INTO nested_notes VALUES ('outer')");
      const before = { total: pool.totalCount, checkouts: checkouts.n };
      nested = await pool
        .transaction(async (inner) => {
          innerRan = true;
          await inner.query("INSERT INTO nested_notes VALUES ('inner')");
        })
        .catch((e: unknown) => e);
      during = { total: pool.totalCount - before.total, checkouts: checkouts.n - before.checkouts };
      await tx.query("INSERT INTO nested_notes VALUES ('outer-after')");
    });
    expectNestedError(nested, 'pool.transaction()');
    expect(innerRan).toBe(false);
    expect(during).toEqual({ total: 0, checkouts: 0 });
    expect(checkouts.n).toBe(1);
    expect(await noteIds(pool)).toEqual(['outer', 'outer-after']);
  });

  it('rethrown, the error rolls the outer transaction back and is not retried', async () => {
    const pool = newPool();
    let runs = 0;
    const err = await pool
      .transaction(async (tx) => {
        runs++;
        await tx.query("INSERT INTO nested_notes VALUES ('rolled-back')");
        await pool.transaction((inner) => inner.query('SELECT 1'));
      })
      .catch((e: unknown) => e);
    expectNestedError(err, 'pool.transaction()');
    expect(runs).toBe(1);
    expect(await noteIds(pool)).toEqual([]);
  });

  it('with every connection held by the outer transaction (max 1) it fails fast instead of waiting for a connection', async () => {
    const pool = newPool({ max: 1, connectionTimeoutMillis: 10_000 });
    let outcome: unknown;
    let waiting = -1;
    await pool.transaction(async () => {
      // Unguarded, the inner call would queue for the one connection until connectionTimeoutMillis.
      const inner = pool.transaction(async () => 'never').catch((e: unknown) => e);
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise((resolve) => (timer = setTimeout(resolve, 3_000, 'still waiting for a connection')));
      outcome = await Promise.race([inner, stuck]);
      clearTimeout(timer);
      waiting = pool.waitingCount;
    });
    expectNestedError(outcome, 'pool.transaction()');
    expect(waiting).toBe(0);
    expect(pool.totalCount).toBe(1);
    expect((await pool.transaction((tx) => tx.query('SELECT 7 AS n'))).rows).toEqual([{ n: 7 }]);
  });

  it('client.transaction() on another client of the same pool inside pool.transaction() rejects; that client stays usable', async () => {
    const pool = newPool();
    const other = await pool.connect();
    try {
      let innerRan = false;
      const err = await pool
        .transaction(async (tx) => {
          await tx.query("INSERT INTO nested_notes VALUES ('outer')");
          return other.transaction(async () => {
            innerRan = true;
          });
        })
        .catch((e: unknown) => e);
      expectNestedError(err, 'client.transaction()');
      expect(innerRan).toBe(false);
      expect((await other.query('SELECT 8 AS n')).rows).toEqual([{ n: 8 }]);
      // Outside any callback, the same call is an ordinary transaction.
      await other.transaction((tx) => tx.query("INSERT INTO nested_notes VALUES ('later')"));
    } finally {
      other.release();
    }
    expect(await noteIds(pool)).toEqual(['later']);
  });

  it('pool.transaction() inside client.transaction() of a checked-out client rejects; the client transaction commits', async () => {
    const pool = newPool();
    const client = await pool.connect();
    const checkouts = countCheckouts(pool);
    try {
      let nested: unknown;
      await client.transaction(async (tx) => {
        await tx.query("INSERT INTO nested_notes VALUES ('client-tx')");
        nested = await pool.transaction(async () => undefined).catch((e: unknown) => e);
      });
      expectNestedError(nested, 'pool.transaction()');
      expect(checkouts.n).toBe(0);
    } finally {
      client.release();
    }
    expect(await noteIds(pool)).toEqual(['client-tx']);
  });

  it('is recognised in every attempt of a retried outer transaction', async () => {
    const pool = newPool();
    local.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction, please retry: (OC000)' } });
    const nested: unknown[] = [];
    await pool.transaction(
      async (tx) => {
        nested.push(await pool.transaction(async () => undefined).catch((e: unknown) => e));
        await tx.query("INSERT INTO nested_notes VALUES ('retried')");
      },
      { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    );
    expect(nested).toHaveLength(2);
    for (const err of nested) expectNestedError(err, 'pool.transaction()');
    expect(await noteIds(pool)).toEqual(['retried']);
  });

  it('a timer that fires while the callback is still running is inside it', async () => {
    const pool = newPool();
    const err = await pool
      .transaction(async () => {
        const fromTimer = new Promise<unknown>((resolve) => setTimeout(() => pool.transaction(async () => 1).then(resolve, resolve), 5));
        return fromTimer;
      })
      .catch((e: unknown) => e);
    // The timer's rejection became the callback's value: the outer transaction committed it.
    expectNestedError(err, 'pool.transaction()');
  });
});

describe('what is not a nested transaction', () => {
  it('sequential transactions, also after a refused nested one', async () => {
    const pool = newPool({ max: 2 });
    await pool.transaction((tx) => tx.query("INSERT INTO nested_notes VALUES ('one')"));
    await pool.transaction(async () => pool.transaction(async () => undefined)).catch(() => undefined);
    await pool.transaction((tx) => tx.query("INSERT INTO nested_notes VALUES ('two')"));
    const client = await pool.connect();
    try {
      await client.transaction((tx) => tx.query("INSERT INTO nested_notes VALUES ('three')"));
    } finally {
      client.release();
    }
    expect(await noteIds(pool)).toEqual(['one', 'three', 'two']);
  });

  it('concurrent top-level transactions (Promise.all) with both callbacks open at once', async () => {
    const pool = newPool({ max: 4 });
    let entered = 0;
    let bothIn!: () => void;
    const together = new Promise<void>((resolve) => (bothIn = resolve));
    const work = (id: string) =>
      pool.transaction(async (tx) => {
        if (++entered === 2) bothIn();
        await together; // neither callback ends before the other has started
        await tx.query('INSERT INTO nested_notes VALUES ($1)', [id]);
        return id;
      });
    expect(await Promise.all([work('a'), work('b')])).toEqual(['a', 'b']);
    expect(await noteIds(pool)).toEqual(['a', 'b']);
  });

  it('a timer, a promise chain and an async-resource event handler scheduled inside a callback that run after it ended', async () => {
    const pool = newPool();
    let late!: EventEmitterAsyncResource;
    const results: Promise<unknown>[] = [];
    let fromTimer!: Promise<unknown>;
    let fromHandler!: Promise<unknown>;
    const timerFired = new Promise<void>((resolve) => {
      void pool.transaction(async (tx) => {
        await tx.query('SELECT 1');
        // Each of these carries the callback's async context, but runs after the callback settled.
        setTimeout(() => {
          fromTimer = pool.transaction((t) => t.query("INSERT INTO nested_notes VALUES ('timer')"));
          resolve();
        }, 30);
        results.push(sleep(20).then(() => pool.transaction((t) => t.query("INSERT INTO nested_notes VALUES ('chain')"))));
        // Created here, its handlers run in this callback's async context, whenever they are emitted.
        late = new EventEmitterAsyncResource({ name: 'late-events' });
        late.once('go', () => {
          fromHandler = pool.transaction((t) => t.query("INSERT INTO nested_notes VALUES ('handler')"));
        });
      });
    });
    await timerFired;
    late.emit('go');
    await Promise.all([...results, fromTimer, fromHandler]);
    late.emitDestroy();
    expect(await noteIds(pool)).toEqual(['chain', 'handler', 'timer']);
  });

  it('…also while another, unrelated transaction callback is open the whole time', async () => {
    // With a callback open somewhere the storage stays enabled and the late work still carries
    // the ended callback's context: only its "ended" mark tells it apart from a nested call.
    const pool = newPool({ max: 4 });
    let releaseBackground!: () => void;
    const backgroundHeld = new Promise<void>((resolve) => (releaseBackground = resolve));
    let backgroundIn!: () => void;
    const backgroundEntered = new Promise<void>((resolve) => (backgroundIn = resolve));
    const background = pool.transaction(async () => {
      backgroundIn();
      await backgroundHeld;
    });
    await backgroundEntered;

    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const late: Promise<unknown>[] = [];
    let events!: EventEmitterAsyncResource;
    await pool.transaction(async (tx) => {
      await tx.query('SELECT 1');
      setTimeout(async () => {
        await gate;
        late.push(pool.transaction((t) => t.query("INSERT INTO nested_notes VALUES ('timer')")));
      }, 0);
      void (async () => {
        await gate;
        late.push(pool.transaction((t) => t.query("INSERT INTO nested_notes VALUES ('chain')")));
      })();
      events = new EventEmitterAsyncResource({ name: 'late-events' });
      events.once('go', () => late.push(pool.transaction((t) => t.query("INSERT INTO nested_notes VALUES ('handler')"))));
    });
    await sleep(5); // the timer has fired and waits at the gate
    openGate();
    await gate;
    events.emit('go');
    while (late.length < 3) await sleep(1);
    const outcomes = await Promise.allSettled(late);
    events.emitDestroy();
    releaseBackground();
    await background;
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(await noteIds(pool)).toEqual(['chain', 'handler', 'timer']);
  });

  it('a transaction of another pool inside the callback (and the same pool nested under it is still refused)', async () => {
    const first = newPool();
    const second = newPool();
    let sameAgain: unknown;
    await first.transaction(async (tx) => {
      await tx.query("INSERT INTO nested_notes VALUES ('first')");
      await second.transaction(async (tx2) => {
        await tx2.query("INSERT INTO nested_notes VALUES ('second')");
        sameAgain = await first.transaction(async () => undefined).catch((e: unknown) => e);
      });
    });
    expectNestedError(sameAgain, 'pool.transaction()');
    expect(await noteIds(first)).toEqual(['first', 'second']);
  });

  it('a standalone DsqlClient transaction inside a pool transaction (another connection by construction)', async () => {
    const pool = newPool();
    const client = new DsqlClient({ ...local.connectionOptions(), credentials: countingCredentials(local) });
    await client.connect();
    try {
      await pool.transaction(async () => {
        await client.transaction((tx) => tx.query("INSERT INTO nested_notes VALUES ('standalone')"));
      });
    } finally {
      await client.end();
    }
    expect(await noteIds(pool)).toEqual(['standalone']);
  });

  it('with detectNestedTransactions: false nothing is checked: the inner call is a separate transaction', async () => {
    const pool = newPool({ detectNestedTransactions: false });
    const checkouts = countCheckouts(pool);
    const err = await pool
      .transaction(async (tx) => {
        await tx.query("INSERT INTO nested_notes VALUES ('outer')");
        await pool.transaction((inner) => inner.query("INSERT INTO nested_notes VALUES ('independent')"));
        throw new Error('outer fails');
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('outer fails');
    expect(checkouts.n).toBe(2);
    // The "inner" work committed although the outer transaction rolled back: the hazard the check prevents.
    expect(await noteIds(pool)).toEqual(['independent']);
  });

  it('pool.query() and pool.connect() inside a callback work and see the database outside the open transaction', async () => {
    const pool = newPool({ max: 3 });
    const seen = await pool.transaction(async (tx) => {
      await tx.query("INSERT INTO nested_notes VALUES ('uncommitted')");
      const viaQuery = (await pool.query('SELECT count(*)::int AS n FROM nested_notes')).rows[0].n;
      const other = await pool.connect();
      try {
        const viaClient = (await other.query('SELECT count(*)::int AS n FROM nested_notes')).rows[0].n;
        const inside = (await tx.query('SELECT count(*)::int AS n FROM nested_notes')).rows[0].n;
        return { viaQuery, viaClient, inside };
      } finally {
        other.release();
      }
    });
    expect(seen).toEqual({ viaQuery: 0, viaClient: 0, inside: 1 });
  });
});
