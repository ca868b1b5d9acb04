import { inspect } from 'node:util';
import postgres from 'postgres';
import type { DsqlLocal } from '@dsql/local';
import { isCommitOutcomeUnknownError, isDsqlError, isOccError, type AwsCredentials } from '@dsql/core';
import { dsql, dsqlStats, transaction } from '@dsql/postgres';
import { withLocal } from './support/local.js';

declare const POSTGRES_JS_VERSION: string;

let local: DsqlLocal;

withLocal((started) => (local = started));

/** A credentials provider that counts how often it is asked (what a network call would cost). */
function countingCredentials(): { provider: () => Promise<AwsCredentials>; calls: () => number } {
  let calls = 0;
  return {
    provider: async () => {
      calls++;
      return { ...local.credentials };
    },
    calls: () => calls,
  };
}

describe('dsql() against @dsql/local', () => {
  it('is a genuine postgres.Sql: parameters, custom types and transforms are preserved', async () => {
    const sql = dsql({
      ...local.connectionOptions(),
      types: { bigint: postgres.BigInt },
      transform: postgres.camel,
    });
    try {
      const [row] = await sql`select ${'x'}::text as some_text, 9007199254740993::int8 as big_value`;
      expect(row).toEqual({ someText: 'x', bigValue: 9007199254740993n });
      expect(typeof sql.unsafe).toBe('function');
      expect(sql.options.ssl).toBe(false); // TLS is negotiated underneath Postgres.js
      expect(typeof sql.options.pass).toBe('function');
      expect(sql.options.connection.application_name).toMatch(/dsql/);
    } finally {
      await sql.end();
    }
  });

  it('scenario 1: 1,000 queries with max 8 → at most 8 authenticated connections, one credential resolution', async () => {
    const creds = countingCredentials();
    const before = local.stats();
    const sql = dsql({ ...local.connectionOptions(), credentials: creds.provider, max: 8 });
    try {
      const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => sql`select ${i}::int as i`));
      expect(results.map((r) => r[0]!.i)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      const after = local.stats();
      const authenticated = after.authenticated - before.authenticated;
      expect(authenticated).toBeGreaterThan(0);
      expect(authenticated).toBeLessThanOrEqual(8);
      expect(creds.calls()).toBe(1);
      // Postgres.js 4 may still be finishing a connection the endpoint has already authenticated
      // when the last query resolves: give the client's count a moment to catch up.
      for (const until = Date.now() + 2_000; dsqlStats(sql)!.connections.opened < authenticated && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const stats = dsqlStats(sql)!;
      expect(stats.connections.opened).toBe(authenticated);
      expect(stats.tokens.credentialResolutions).toBe(1);
      expect(stats.tokens.signings).toBe(1);
    } finally {
      await sql.end();
    }
  }, 30_000);

  it('scenario 4: OCC hot row — 8 workers × 50 increments via transaction() → exactly 400', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 8 });
    try {
      await sql`create table if not exists pg_js_hot_row (id int primary key, n int not null)`;
      await sql`delete from pg_js_hot_row`;
      await sql`insert into pg_js_hot_row (id, n) values (1, 0)`;
      const conflictsBefore = local.stats().occConflicts;
      let retries = 0;
      const worker = async (): Promise<void> => {
        for (let i = 0; i < 50; i++) {
          await transaction(
            sql,
            async (tx) => {
              const [row] = await tx`select n from pg_js_hot_row where id = 1`;
              await tx`update pg_js_hot_row set n = ${row!.n + 1} where id = 1`;
            },
            { maxAttempts: 100, maxElapsedMs: 120_000, onRetry: () => retries++ },
          );
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      const [row] = await sql`select n from pg_js_hot_row where id = 1`;
      expect(row!.n).toBe(400);
      const conflicts = local.stats().occConflicts - conflictsBefore;
      expect(conflicts).toBeGreaterThan(0);
      expect(retries).toBe(conflicts);
    } finally {
      await sql.end();
    }
  }, 120_000);

  it('an OCC conflict reaches a plain sql.begin unchanged (no retry unless opted in)', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 2 });
    try {
      await sql`create table if not exists pg_js_occ_once (id int primary key, n int not null)`;
      await sql`delete from pg_js_occ_once`;
      await sql`insert into pg_js_occ_once values (1, 0)`;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let runs = 0;
      const slow = sql.begin(async (tx) => {
        runs++;
        await tx`update pg_js_occ_once set n = n + 1 where id = 1`;
        await gate;
      });
      // Let the slow transaction write first, then commit a conflicting one and release it.
      await new Promise((r) => setTimeout(r, 100));
      await sql.begin((tx) => tx`update pg_js_occ_once set n = n + 10 where id = 1`).catch(() => undefined);
      release();
      const outcome = await slow.then(
        () => 'committed',
        (err: unknown) => err,
      );
      if (outcome !== 'committed') expect(isOccError(outcome)).toBe(true);
      expect(runs).toBe(1);
    } finally {
      await sql.end();
    }
  }, 30_000);

  it('opt-in retry makes sql.begin retry OCC conflicts', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 8, retry: { maxAttempts: 100, maxElapsedMs: 60_000 } });
    try {
      await sql`create table if not exists pg_js_begin_retry (id int primary key, n int not null)`;
      await sql`delete from pg_js_begin_retry`;
      await sql`insert into pg_js_begin_retry values (1, 0)`;
      const conflictsBefore = local.stats().occConflicts;
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          for (let i = 0; i < 10; i++) {
            await sql.begin(async (tx) => {
              const [row] = await tx`select n from pg_js_begin_retry where id = 1`;
              await tx`update pg_js_begin_retry set n = ${row!.n + 1} where id = 1`;
            });
          }
        }),
      );
      const [row] = await sql`select n from pg_js_begin_retry where id = 1`;
      expect(row!.n).toBe(60);
      expect(local.stats().occConflicts - conflictsBefore).toBeGreaterThan(0);
    } finally {
      await sql.end();
    }
  }, 60_000);

  describe('transaction() retry contract (deterministic, with injected faults)', () => {
    const conflict = { code: '40001', message: 'change conflicts with another transaction (OC000)' };

    it('an OCC conflict runs the callback again in a fresh transaction', async () => {
      const sql = dsql({ ...local.connectionOptions(), max: 2 });
      // Another client: a transaction on `sql` itself from inside the callback would be refused as nested.
      const otherClient = dsql({ ...local.connectionOptions(), max: 1 });
      try {
        await sql`create table if not exists pg_js_retry_once (id int primary key, n int not null)`;
        await sql`delete from pg_js_retry_once`;
        await sql`insert into pg_js_retry_once values (1, 0)`;
        const seen: number[] = [];
        await transaction(sql, async (tx) => {
          const [row] = await tx`select n from pg_js_retry_once where id = 1`; // snapshot taken
          seen.push(row!.n);
          // The first time, another connection commits a change to the row in between.
          if (seen.length === 1) await otherClient.begin((other) => other`update pg_js_retry_once set n = n + 10 where id = 1`);
          await tx`update pg_js_retry_once set n = ${row!.n + 1} where id = 1`;
        });
        expect(seen).toEqual([0, 10]); // the second run saw the other commit
        const [row] = await sql`select n from pg_js_retry_once where id = 1`;
        expect(row!.n).toBe(11);
      } finally {
        await Promise.all([sql.end({ timeout: 5 }), otherClient.end({ timeout: 5 })]);
      }
    }, 20_000);

    it('retry: false (per call, or on dsql()) makes one attempt and surfaces the conflict', async () => {
      const sql = dsql({ ...local.connectionOptions(), max: 2, retry: false });
      try {
        for (const retry of [undefined, false] as const) {
          local.inject({ on: 'commit', error: conflict });
          let runs = 0;
          const err = await transaction(
            sql,
            async (tx) => {
              runs++;
              await tx`select 1`;
            },
            retry,
          ).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(isOccError(err)).toBe(true);
          expect(runs).toBe(1);
        }
      } finally {
        await sql.end({ timeout: 5 });
      }
    }, 20_000);

    it('a connection lost before COMMIT is retried on a new connection', async () => {
      const sql = dsql({ ...local.connectionOptions(), max: 1 });
      try {
        local.inject({ on: 'query', drop: true, match: 'retry_marker_before_commit' });
        let runs = 0;
        const [row] = await transaction(sql, async (tx) => {
          runs++;
          return tx`select 'retry_marker_before_commit' as m`;
        });
        expect(row!.m).toBe('retry_marker_before_commit');
        expect(runs).toBe(2);
      } finally {
        await sql.end({ timeout: 5 });
      }
    }, 20_000);
  });

  describe('scenario 5: injected faults', () => {
    it('a connection dropped mid-query surfaces the error, and sql recovers', async () => {
      const sql = dsql({ ...local.connectionOptions(), max: 1 });
      try {
        await sql`select 1`;
        local.inject({ on: 'query', drop: true, match: 'fault_marker_mid_query' });
        const err = await sql`select 'fault_marker_mid_query' as m`.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeDefined();
        expect((err as { code?: string }).code).toMatch(/CONNECTION_CLOSED|ECONNRESET|CONNECTION_DESTROYED/);
        const [row] = await sql`select 2 as v`;
        expect(row!.v).toBe(2);
      } finally {
        await sql.end();
      }
    }, 20_000);

    it('a connection dropped during COMMIT → CommitOutcomeUnknownError, not retried, no duplicate write', async () => {
      const sql = dsql({ ...local.connectionOptions(), max: 2 });
      try {
        await sql`create table if not exists pg_js_commit_drop (id uuid primary key default gen_random_uuid(), tag text not null)`;
        await sql`delete from pg_js_commit_drop`;
        local.inject({ on: 'commit', drop: true });
        let runs = 0;
        const err = await transaction(sql, async (tx) => {
          runs++;
          await tx`insert into pg_js_commit_drop (tag) values ('once')`;
        }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isCommitOutcomeUnknownError(err)).toBe(true);
        expect(runs).toBe(1);
        expect(String((err as Error).message)).toMatch(/COMMIT/);
        const rows = await sql`select tag from pg_js_commit_drop`;
        expect(rows.map((r) => r.tag)).toEqual(['once']);
      } finally {
        // Postgres.js keeps the lost COMMIT as the dead connection's current query, so a plain
        // end() would wait for it forever (upstream behaviour, also without @dsql/postgres).
        await sql.end({ timeout: 1 });
      }
    }, 20_000);

    it('a refused connection is retried before the query sees it, with one token, and the greeting reaches Postgres.js', async () => {
      const sql = dsql({ ...local.connectionOptions(), max: 1 });
      try {
        local.inject({ on: 'connect', error: { code: '53400', message: 'Unable to accept connection, rate exceeded.' } });
        const [row] = await sql`select 1 as one`;
        expect(row).toEqual({ one: 1 });
        expect(sql.parameters.server_version).toMatch(/^\d+/); // the replayed greeting reached Postgres.js
        // The DsqlStats shape (counted by core); Postgres.js 4 exposes its queue length, 3.4 does not.
        const pending = 'stats' in sql ? 0 : null;
        expect(dsqlStats(sql)!.connections).toEqual({ opened: 1, attempts: 2, retried: 1, failed: 0, open: 1, idle: 1, used: 0, pending });
        const { connectAttempts, tokens } = dsqlStats(sql)!;
        expect(connectAttempts.ok).toBe(1);
        expect(Object.values(connectAttempts).reduce((a, b) => a + b, 0)).toBe(2);
        expect(tokens.signings).toBe(1); // one cached token for both attempts
      } finally {
        await sql.end({ timeout: 1 });
      }
    }, 20_000);

    it('access denied fails at once with a clear error and no secret in it', async () => {
      const wrong = { accessKeyId: local.credentials.accessKeyId, secretAccessKey: 'not-the-secret-at-all-0123456789' };
      const sql = dsql({ ...local.connectionOptions(), credentials: wrong, max: 1, connect_timeout: 10 });
      try {
        const err = await sql`select 1`.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isDsqlError(err, 'connect-failed')).toBe(true);
        expect((err as { kind: string }).kind).toBe('access-denied');
        expect((err as Error).message).toMatch(/access denied/);
        expect((err as { hint: string }).hint).toMatch(/Region|credentials/);
        const text = `${(err as Error).message} ${(err as { hint: string }).hint} ${inspect(err)}`;
        expect(text).not.toMatch(/X-Amz-Signature|not-the-secret/);
        expect(dsqlStats(sql)!.connections).toMatchObject({ attempts: 1, retried: 0, failed: 1 });
      } finally {
        await sql.end();
      }
    }, 20_000);
  });

  it('sql.savepoint inside a transaction fails fast with a DSQL error, before anything is sent', async () => {
    const sent: string[] = [];
    const sql = dsql({ ...local.connectionOptions(), max: 1, debug: (_conn, query) => sent.push(query) });
    try {
      let caught: unknown;
      const [row] = await sql.begin(async (tx) => {
        caught = await tx.savepoint(async (sp) => sp`select 1`).then(
          () => undefined,
          (e: unknown) => e,
        );
        return tx`select 2 as v`; // the transaction is still usable
      });
      expect(row!.v).toBe(2);
      expect(isDsqlError(caught, 'unsupported-feature')).toBe(true);
      expect((caught as Error).message).toMatch(/savepoint/i);
      expect(sent.filter((q) => /savepoint/i.test(q))).toEqual([]);
      expect(sent.map((q) => q.trim().split(/\s+/)[0]!.toLowerCase()).slice(-3)).toEqual(['begin', 'select', 'commit']);
    } finally {
      await sql.end();
    }
  }, 20_000);

  it('tx.begin inside a transaction (Postgres.js 4 runs it as a savepoint) fails fast with a DSQL error; 3.4 has no tx.begin', async () => {
    const sent: string[] = [];
    const sql = dsql({ ...local.connectionOptions(), max: 1, debug: (_conn, query) => sent.push(query) });
    try {
      let caught: unknown = 'not called';
      const [row] = await sql.begin(async (tx) => {
        const nested = (tx as unknown as { begin?: (fn: (inner: unknown) => unknown) => Promise<unknown> }).begin;
        if (typeof nested === 'function') {
          caught = await nested(async () => 'inner').then(
            () => undefined,
            (e: unknown) => e,
          );
        }
        return tx`select 3 as v`;
      });
      expect(row!.v).toBe(3);
      if (POSTGRES_JS_VERSION.startsWith('3.')) {
        expect(caught).toBe('not called');
      } else {
        expect(isDsqlError(caught, 'unsupported-feature')).toBe(true);
        expect((caught as Error).message).toMatch(/tx\.begin\(\).*SAVEPOINT/);
      }
      expect(sent.filter((q) => /savepoint/i.test(q))).toEqual([]);
    } finally {
      await sql.end();
    }
  }, 20_000);

  it("sql.begin() keeps Postgres.js 4.2's Leasing: signal() and cancel() withdraw a transaction still waiting for a connection", async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1, retry: true });
    try {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const holder = sql.begin(async (tx) => {
        entered();
        await held;
        return tx`select 1 as v`;
      });
      await inside; // the only connection is taken
      const waiting = sql.begin((tx) => tx`select 2 as v`) as Promise<unknown> & { cancel?: () => Promise<void>; signal?: (s: AbortSignal) => unknown };
      const cancelled = sql.begin((tx) => tx`select 3 as v`) as typeof waiting;
      if (POSTGRES_JS_VERSION.startsWith('3.')) {
        expect(waiting.signal).toBeUndefined(); // 3.4's begin returns a plain promise
        release();
        await Promise.all([holder, waiting, cancelled]);
        return;
      }
      const abort = new AbortController();
      expect(waiting.signal!(abort.signal)).toBe(waiting);
      abort.abort();
      await cancelled.cancel!();
      await expect(waiting).rejects.toMatchObject({ code: '57014' });
      await expect(cancelled).rejects.toMatchObject({ code: '57014' });
      release();
      expect((await holder)[0]).toEqual({ v: 1 });
      const [row] = await sql.begin((tx) => tx`select 4 as v`);
      expect(row).toEqual({ v: 4 });
    } finally {
      await sql.end();
    }
  }, 20_000);

  it('query.cancel() reaches the server through a fresh TLS connection', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1 });
    try {
      await sql`select 1`;
      const started = Date.now();
      const query = sql`select pg_sleep(10)`;
      const outcome = query.then(
        () => undefined,
        (e: unknown) => e,
      );
      await new Promise((r) => setTimeout(r, 300));
      await query.cancel();
      const err = await outcome;
      expect((err as { code?: string }).code).toBe('57014');
      expect(Date.now() - started).toBeLessThan(8000);
      const [row] = await sql`select 3 as v`;
      expect(row!.v).toBe(3);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }, 20_000);

  it('refuses an isolation level DSQL does not offer without sending it', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1 });
    try {
      await expect(sql.begin('isolation level serializable', (tx) => tx`select 1`)).rejects.toMatchObject({
        code: 'unsupported-feature',
      });
      const [row] = await sql.begin('read write', (tx) => tx`select 1 as v`);
      expect(row!.v).toBe(1);
    } finally {
      await sql.end();
    }
  }, 20_000);

  it('verify-full: a server certificate the client does not trust is refused, not retried', async () => {
    const { ssl: _ssl, ...withoutCa } = local.connectionOptions();
    const sql = dsql({ ...withoutCa, max: 1, connect_timeout: 10 });
    try {
      const err = await sql`select 1`.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as { code?: string }).code).toMatch(/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/);
      expect(dsqlStats(sql)!.connections.attempts).toBe(1);
    } finally {
      await sql.end();
    }
  }, 20_000);
});
