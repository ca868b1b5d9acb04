import { jest } from '@jest/globals';
import { inspect } from 'node:util';
import pg from 'pg';
import type { DsqlLocal } from '@dsql/local';
import { TokenProvider, isCommitOutcomeUnknownError, isDsqlError } from '@dsql/core';
import { DsqlClient, DsqlPool, type DsqlPoolConfig } from '../src/index.js';
import { countingCredentials, startLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
const pools: DsqlPool[] = [];

function newPool(extra: DsqlPoolConfig = {}): DsqlPool {
  const pool = new DsqlPool({ ...local.connectionOptions(), credentials: countingCredentials(local), ...extra });
  pool.on('error', () => {}); // idle-connection errors are asserted where they matter
  pools.push(pool);
  return pool;
}

beforeAll(async () => {
  local = await startLocal();
  const setup = new pg.Client({ connectionString: local.upstreamUrl });
  await setup.connect();
  await setup.query('CREATE TABLE IF NOT EXISTS counters (id int PRIMARY KEY, n int NOT NULL)');
  await setup.query('CREATE TABLE IF NOT EXISTS notes (id text PRIMARY KEY, body text)');
  await setup.end();
});

afterAll(async () => {
  await Promise.allSettled(pools.filter((p) => !p.ending).map((p) => p.end()));
  await local?.stop();
});

describe('DsqlPool against @dsql/local', () => {
  it('1,000 pool.query() calls on a pool of 8: ≤ 8 authenticated connections, one credential resolution', async () => {
    const credentials = countingCredentials(local);
    const before = local.stats().authenticated;
    const pool = newPool({ credentials, max: 8 });
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => pool.query('SELECT $1::int AS i', [i])));
    expect(results.map((r) => r.rows[0].i)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(local.stats().authenticated - before).toBeLessThanOrEqual(8);
    expect(local.stats().authenticated - before).toBeGreaterThan(0);
    expect(credentials.calls).toBe(1);
    expect(pool.totalCount).toBeLessThanOrEqual(8);
    // The password function ran once per physical connection, never per query: one signing,
    // and every other connection was served from the token cache.
    const tokens = TokenProvider.shared({ host: local.host, region: local.region, user: 'admin', credentials });
    const { signings, cacheHits } = tokens.stats();
    expect(signings).toBe(1);
    expect(signings + cacheHits).toBe(local.stats().authenticated - before);
  });

  it('does no credential work when the pool is created, only when a connection opens', async () => {
    const credentials = countingCredentials(local);
    const pool = newPool({ credentials });
    expect(credentials.calls).toBe(0);
    await pool.query('SELECT 1');
    expect(credentials.calls).toBe(1);
  });

  it('verifies the certificate against the cluster hostname while dialling hostaddr', async () => {
    const pool = newPool();
    const { rows } = await pool.query('SELECT 1 AS ok');
    expect(rows).toEqual([{ ok: 1 }]);
    expect(pool.options.host).toBe(local.host);

    // Without the emulator's CA the chain cannot be verified: verify-full is really on.
    const { ssl: _ssl, ...noCa } = local.connectionOptions();
    const untrusted = new DsqlPool({ ...noCa, credentials: countingCredentials(local), connectionTimeoutMillis: 5_000 });
    pools.push(untrusted);
    await expect(untrusted.query('SELECT 1')).rejects.toThrow(/self[- ]signed|unable to (verify|get)/i);

    // A certificate for another name is refused even though the CA is trusted (hostname check).
    const otherName = new DsqlPool({
      ...local.connectionOptions(),
      host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws',
      credentials: countingCredentials(local),
      connectionTimeoutMillis: 5_000,
    });
    pools.push(otherName);
    await expect(otherName.query('SELECT 1')).rejects.toThrow(/altnames|does not match|Hostname\/IP/i);
  });

  it('keeps pg DatabaseError shape and adds err.dsql', async () => {
    const pool = newPool();
    const err = await pool.query('SELEC 1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(pg.DatabaseError);
    expect(err).toMatchObject({ code: '42601', dsql: { kind: 'other', retryable: false } });
  });

  it('access denied: a clear, classified error without the token', async () => {
    const wrong = async () => ({ accessKeyId: 'AKIAWRONGWRONGWRONG1', secretAccessKey: 'not-the-secret' });
    const pool = newPool({ credentials: wrong });
    const err = (await pool.query('SELECT 1').catch((e: unknown) => e)) as Error & { dsql?: { kind: string; hint: string } };
    expect(err.dsql?.kind).toBe('access-denied');
    expect(err.message).toMatch(/access denied/i);
    expect(err.dsql?.hint).toMatch(/credentials are invalid or expired/);
    expect(err.message).toMatch(/credentials are invalid or expired/);
    const text = `${err.message} ${err.dsql?.hint} ${inspect(err)}`;
    expect(text).not.toMatch(/X-Amz-Signature/);
    expect(text).not.toMatch(/not-the-secret/);
  });

  it('access denied for a role/action mismatch says which action the role needs', async () => {
    const pool = newPool({ ...local.connectionOptions('app'), credentials: countingCredentials(local), admin: true });
    const err = (await pool.query('SELECT 1').catch((e: unknown) => e)) as Error & { dsql?: { kind: string; hint: string } };
    expect(err.dsql?.kind).toBe('access-denied');
    expect(err.dsql?.hint).toMatch(/DbConnect/);
    expect(err.message).toMatch(/access denied/i);
  });

  it('retries a connection refused for a transient reason instead of failing the caller', async () => {
    const pool = newPool();
    local.inject({ on: 'connect', error: { code: '53400', message: 'Unable to accept connection, rate exceeded.' }, times: 2 });
    const { rows } = await pool.query('SELECT 2 AS two');
    expect(rows).toEqual([{ two: 2 }]);
  });

  it('a standalone DsqlClient retries a refused connect too', async () => {
    const client = new DsqlClient({ ...local.connectionOptions(), credentials: countingCredentials(local) });
    local.inject({ on: 'connect', error: { code: '53300', message: 'Unable to accept connection, too many open connections.' } });
    await client.connect();
    try {
      expect((await client.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
    } finally {
      await client.end();
    }
  });

  it('a dropped connection mid-query surfaces the error and the pool recovers', async () => {
    const pool = newPool({ max: 2 });
    await pool.query('SELECT 1');
    local.inject({ on: 'query', drop: true, match: 'drop-me' });
    await expect(pool.query("SELECT 'drop-me'")).rejects.toThrow(/terminated|closed|ECONNRESET/i);
    const { rows } = await pool.query('SELECT 4 AS four');
    expect(rows).toEqual([{ four: 4 }]);
  });
});

describe('transactions', () => {
  it('commits, returns the callback value, and rolls back on error', async () => {
    const pool = newPool();
    await pool.query('DELETE FROM notes');
    const id = await pool.transaction(async (tx) => {
      await tx.query("INSERT INTO notes VALUES ('a', 'x')");
      return 'a';
    });
    expect(id).toBe('a');
    await expect(
      pool.transaction(async (tx) => {
        await tx.query("INSERT INTO notes VALUES ('b', 'y')");
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await pool.query('SELECT id FROM notes ORDER BY id');
    expect(rows).toEqual([{ id: 'a' }]);
  });

  it('a swallowed error inside the callback is not reported as a commit', async () => {
    const pool = newPool();
    const err = await pool
      .transaction(async (tx) => {
        await tx.query('SELECT 1/0').catch(() => undefined);
      })
      .catch((e: unknown) => e);
    expect(isDsqlError(err, 'transaction-rolled-back')).toBe(true);
  });

  it('savepoints and nested transactions fail fast', async () => {
    const pool = newPool();
    const savepoint = await pool.transaction((tx) => tx.query('SAVEPOINT s')).catch((e: unknown) => e);
    expect(isDsqlError(savepoint, 'unsupported-feature')).toBe(true);
    const nestedClient = await pool.transaction((tx) => tx.transaction(async () => 1)).catch((e: unknown) => e);
    expect(isDsqlError(nestedClient, 'unsupported-feature')).toBe(true);
    // the connection is still fine afterwards
    expect((await pool.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('a standalone DsqlClient has stats() of its own; a client from a pool counts in the pool', async () => {
    const client = new DsqlClient({ ...local.connectionOptions(), credentials: countingCredentials(local) });
    expect(client.stats()!.connections).toEqual({ open: 0, idle: null, used: null, pending: null });
    local.inject({ on: 'connect', error: { code: '53300', message: 'Unable to accept connection, too many open connections.' } });
    await client.connect();
    try {
      await client.transaction(async (tx) => tx.query('SELECT 1'));
      const stats = client.stats()!;
      expect(stats.connections.open).toBe(1);
      expect(stats.connectAttempts.ok).toBe(1);
      expect(Object.values(stats.connectAttempts).reduce((a, b) => a + b, 0)).toBe(2); // the refused one, then ok
      expect(stats.transactions).toMatchObject({ calls: 1, retries: 0, occConflicts: 0, commitUnknown: 0 });
      expect(stats.transactions.attempts.committed).toBe(1);
    } finally {
      await client.end();
    }
    expect(client.stats()!.connections.open).toBe(0);
    const pool = newPool({ max: 1 });
    const pooled = await pool.connect();
    try {
      expect(pooled.stats()).toBeUndefined();
      expect(pool.stats().connections).toMatchObject({ open: 1, used: 1 });
    } finally {
      pooled.release();
    }
  });

  it('client.transaction() works on a standalone DsqlClient', async () => {
    const client = new DsqlClient(local.connectionOptions());
    await client.connect();
    try {
      const n = await client.transaction(async (tx) => (await tx.query('SELECT 5 AS n')).rows[0].n);
      expect(n).toBe(5);
    } finally {
      await client.end();
    }
  });

  it('OCC: 8 workers × 50 increments of one hot row → exactly 400, conflicts hit and absorbed', async () => {
    const pool = newPool({ max: 8, retry: { maxAttempts: 100, baseDelayMs: 2, maxDelayMs: 50, maxElapsedMs: 60_000 } });
    await pool.query('DELETE FROM counters');
    await pool.query('INSERT INTO counters VALUES (1, 0)');
    const conflictsBefore = local.stats().occConflicts;
    let retries = 0;
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 50; i++) {
        await pool.transaction(
          async (tx) => {
            const { rows } = await tx.query('SELECT n FROM counters WHERE id = 1');
            await tx.query('UPDATE counters SET n = $1 WHERE id = 1', [rows[0].n + 1]);
          },
          { maxAttempts: 100, baseDelayMs: 2, maxDelayMs: 50, maxElapsedMs: 60_000, onRetry: () => retries++ },
        );
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const { rows } = await pool.query('SELECT n FROM counters WHERE id = 1');
    expect(rows[0].n).toBe(400);
    expect(local.stats().occConflicts - conflictsBefore).toBeGreaterThan(0);
    expect(retries).toBe(local.stats().occConflicts - conflictsBefore);
  });

  it('COMMIT answer lost → CommitOutcomeUnknownError, not retried, no duplicate write', async () => {
    const pool = newPool();
    await pool.query("DELETE FROM notes WHERE id = 'lost'");
    local.inject({ on: 'commit', drop: true });
    let runs = 0;
    const err = await pool
      .transaction(async (tx) => {
        runs++;
        await tx.query("INSERT INTO notes VALUES ('lost', 'once')");
      })
      .catch((e: unknown) => e);
    expect(isCommitOutcomeUnknownError(err)).toBe(true);
    expect(runs).toBe(1);
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM notes WHERE id = 'lost'");
    expect(rows[0].n).toBe(1);
  });

  it('a connection whose ROLLBACK failed is destroyed, and the callback error surfaces', async () => {
    const pool = newPool({ max: 1 });
    await pool.query('SELECT 1');
    const removed: unknown[] = [];
    pool.on('remove', (c) => removed.push(c));
    local.inject({ on: 'query', drop: true, match: /^ROLLBACK/ });
    const err = await pool
      .transaction(async (tx) => {
        await tx.query('SELECT 1');
        throw new Error('callback failed');
      }, false)
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('callback failed');
    expect(removed).toHaveLength(1);
    expect((await pool.query('SELECT 6 AS six')).rows).toEqual([{ six: 6 }]);
  });

  it('a standalone client whose COMMIT answer is lost reports CommitOutcomeUnknownError and closes', async () => {
    const client = new DsqlClient({ ...local.connectionOptions(), credentials: countingCredentials(local) });
    await client.connect();
    local.inject({ on: 'commit', drop: true });
    const err = await client.transaction((tx) => tx.query('SELECT 1')).catch((e: unknown) => e);
    expect(isCommitOutcomeUnknownError(err)).toBe(true);
    await expect(client.query('SELECT 1')).rejects.toThrow(/not queryable|terminated|ended/i);
  });

  it('queryRetry retries an autocommit statement on OCC only when enabled', async () => {
    const occ = { code: '40001', message: 'change conflicts with another transaction, please retry: (OC000)' };
    const plain = newPool();
    local.inject({ on: 'query', error: occ, match: 'retry-me' });
    const err = await plain.query("SELECT 'retry-me' AS v").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '40001', dsql: { kind: 'occ-conflict', retryable: true } });

    const retrying = newPool({ queryRetry: true });
    local.inject({ on: 'query', error: occ, match: 'retry-me', times: 2 });
    const { rows } = await retrying.query("SELECT 'retry-me' AS v");
    expect(rows).toEqual([{ v: 'retry-me' }]);
  });
});
