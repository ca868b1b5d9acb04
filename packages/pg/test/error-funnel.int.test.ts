// err.dsql on @dsql/pg's errors, against @dsql/local: the same refusals, with the same fields, as
// the other adapters' error-funnel tests (postgres, kysely, drizzle).
import { jest } from '@jest/globals';
import pg from 'pg';
import type { DsqlLocal } from '@dsql/local';
import { classifyError, isOccError, isTransientError } from '@dsql/core';
import { DsqlClient, DsqlPool, type ClassifiedError } from '../src/index.js';
import { countingCredentials, sleep, startLocal, terminateBackend } from './support/local.js';

jest.setTimeout(60_000);

const UNSUPPORTED = { kind: 'unsupported', retryable: false, sqlstate: '0A000' };
const OCC = { kind: 'occ-conflict', retryable: true, sqlstate: '40001' };
const LIMIT = { kind: 'limit-exceeded', retryable: false, sqlstate: '54000' };
const DENIED = { kind: 'access-denied', retryable: false, sqlstate: '08006' };
const ACCESS_DENIED = { code: '08006', message: 'unable to accept connection, access denied' };

let local: DsqlLocal;
let pool: DsqlPool;

/** The rejection of `p`, which must reject. */
async function failure(p: Promise<unknown>): Promise<ClassifiedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as ClassifiedError;
}

/** err.dsql is there, frozen, and says what classifyError says now. */
function expectDsql(err: ClassifiedError, expected: Record<string, unknown>): void {
  expect(Object.keys(err)).toContain('dsql');
  expect(err.dsql).toMatchObject(expected);
  expect(Object.isFrozen(err.dsql)).toBe(true);
  expect(typeof err.dsql.hint).toBe('string');
  expect(typeof err.dsql.message).toBe('string');
  expect(err.dsql.kind).toBe(classifyError(err).kind);
}

beforeAll(async () => {
  local = await startLocal();
  const setup = new pg.Client({ connectionString: local.upstreamUrl });
  await setup.connect();
  await setup.query('CREATE TABLE IF NOT EXISTS funnel (id int PRIMARY KEY, n int NOT NULL)');
  await setup.query('INSERT INTO funnel VALUES (1, 0) ON CONFLICT DO NOTHING');
  await setup.query('CREATE TABLE IF NOT EXISTS funnel_rows (id int PRIMARY KEY)');
  await setup.end();
  pool = new DsqlPool({ ...local.connectionOptions(), credentials: countingCredentials(local), max: 4 });
  pool.on('error', () => {});
});

afterAll(async () => {
  await pool?.end();
  await local?.stop();
});

describe('@dsql/pg errors carry err.dsql', () => {
  it('a statement DSQL refuses (0A000): pool.query and client.query', async () => {
    expectDsql(await failure(pool.query('TRUNCATE funnel')), UNSUPPORTED);
    const client = await pool.connect();
    try {
      const err = await failure(client.query('TRUNCATE funnel'));
      expectDsql(err, UNSUPPORTED);
      expect(err).toBeInstanceOf(pg.DatabaseError);
    } finally {
      client.release();
    }
  });

  it('an OCC conflict between two transactions (40001), also out of pool.transaction()', async () => {
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query('SELECT n FROM funnel WHERE id = 1');
      await b.query('SELECT n FROM funnel WHERE id = 1');
      await b.query('UPDATE funnel SET n = n + 1 WHERE id = 1');
      await b.query('COMMIT');
      const err = await failure(a.query('UPDATE funnel SET n = n + 1 WHERE id = 1').then(() => a.query('COMMIT')));
      expectDsql(err, OCC);
      expect(isOccError(err)).toBe(true);
      await a.query('ROLLBACK').catch(() => undefined);
    } finally {
      a.release();
      b.release();
    }

    local.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction (OC000)' } });
    const err = await failure(pool.transaction((tx) => tx.query('UPDATE funnel SET n = n + 1 WHERE id = 1'), false));
    expectDsql(err, OCC);
    expect(isOccError(err)).toBe(true);
  });

  it('a transaction limit (54000): more than 3,000 modified rows', async () => {
    const err = await failure(pool.query('INSERT INTO funnel_rows SELECT g FROM generate_series(1, 3001) g'));
    expectDsql(err, LIMIT);
    expect(isTransientError(err)).toBe(false);
  });

  it("the client's own refusals carry err.dsql: a savepoint inside transaction(), a statement after the connection was lost", async () => {
    const savepoint = await failure(pool.transaction((tx) => tx.query('SAVEPOINT s1')));
    expect(savepoint.name).toBe('DsqlUnsupportedError');
    expectDsql(savepoint, { kind: 'unsupported', retryable: false });

    const client = new DsqlClient({ ...local.connectionOptions(), credentials: countingCredentials(local) });
    client.on('error', () => {});
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await terminateBackend(local, rows[0]!.pid);
    await failure(client.query('SELECT 1')).catch(() => undefined); // the statement that sees the loss
    await sleep(50);
    const lost = await failure(client.query('SELECT 1'));
    expect(lost.name).toBe('DsqlConnectionLostError');
    expectDsql(lost, { kind: 'transient', retryable: true });
    expect(isTransientError(lost)).toBe(true);
  });

  it('a refused connection: DsqlPool and DsqlClient', async () => {
    const fresh = new DsqlPool({ ...local.connectionOptions(), credentials: countingCredentials(local), max: 1 });
    try {
      local.inject({ on: 'connect', error: ACCESS_DENIED });
      const err = await failure(fresh.query('SELECT 1'));
      expectDsql(err, DENIED);
      expect(err.dsql.hint).toMatch(/Region|DbConnect/);
      expect(isTransientError(err)).toBe(false);
    } finally {
      await fresh.end();
    }
    const client = new DsqlClient({ ...local.connectionOptions(), credentials: countingCredentials(local) });
    local.inject({ on: 'connect', error: ACCESS_DENIED });
    expectDsql(await failure(client.connect()), DENIED);
  });

  it('a transient refusal that outlasts the connect deadline (53400) is retryable and transient', async () => {
    const fresh = new DsqlPool({ ...local.connectionOptions(), credentials: countingCredentials(local), max: 1, connectionTimeoutMillis: 600 });
    try {
      local.inject({ on: 'connect', error: { code: '53400', message: 'Unable to accept connection, rate exceeded.' }, times: 1_000 }); // the last test: the emulator stops afterwards
      const err = await failure(fresh.query('SELECT 1'));
      expectDsql(err, { kind: 'rate-limited', retryable: true });
      expect(isTransientError(err)).toBe(true);
    } finally {
      await fresh.end();
    }
  });
});
