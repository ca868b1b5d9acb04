// Core's migration toolkit (@dsql/core/migrations) through a real driver with no ORM around it:
// node-postgres (DsqlPool) against @dsql/local. Core cannot depend on @dsql/local (which depends
// on core), so the toolkit's integration tests live here, beside its first user.
import { jest } from '@jest/globals';
import { isOccError } from '@dsql/core';
import { DsqlPool } from '@dsql/pg';
import {
  applyMigrations,
  awaitJob,
  jobIdOf,
  MigrationJobError,
  MigrationLockError,
  readTracking,
  resolveMigrationRun,
  RowLease,
  TableLease,
  unfinishedJobs,
  waitForJobSql,
  waitForLease,
  type DetachedQuery,
  type MigrationEvent,
  type MigrationSession,
  type MigrationSql,
  type MigrationToApply,
} from '@dsql/core/migrations';
import { createDsqlRules } from '@dsql/local';
import { adminQuery, startDsqlLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
const pools: DsqlPool[] = [];

beforeAll(async () => {
  local = await startDsqlLocal();
});
afterAll(async () => {
  await local?.stop();
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

/** A migration session over a DsqlPool: autocommit queries and `pool.transaction()` (`maxAttempts` of its retry). */
function sessionOn(target: DsqlLocal = local, maxAttempts?: number): { pool: DsqlPool; session: MigrationSession } {
  const pool = new DsqlPool({ ...target.connectionOptions(), max: 3 });
  pool.on('error', () => undefined);
  pools.push(pool);
  const runner = (client: { query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> }): MigrationSql => ({
    query: async (text, params = []) => ({ rows: (await client.query(text, [...params])).rows }),
  });
  return {
    pool,
    session: {
      ...runner(pool),
      transaction: (fn, retryOn) =>
        pool.transaction((client) => fn(runner(client)), { ...(maxAttempts ? { maxAttempts } : {}), ...(retryOn ? { retryOn: (err) => isOccError(err) || retryOn(err) } : {}) }),
    },
  };
}

const step = (sql: string, job = false) => ({ sql, job });
const MIGRATIONS: MigrationToApply[] = [
  { createdAt: 1, tag: '0001_accounts', hash: 'h1', steps: [step('CREATE TABLE tk_accounts (id uuid PRIMARY KEY, email text)'), step('CREATE INDEX ASYNC tk_accounts_email ON tk_accounts (email)', true)] },
  { createdAt: 2, tag: '0002_notes', hash: 'h2', steps: [step('CREATE TABLE tk_notes (id uuid PRIMARY KEY, body text)'), step('ALTER TABLE tk_notes ADD COLUMN at timestamptz')] },
];
const run = (options: Parameters<typeof resolveMigrationRun>[0] = {}) =>
  resolveMigrationRun(options, { caller: 'the toolkit test', migrationsSchema: 'tk', migrationsTable: 'history' });

beforeEach(() => adminQuery(local, 'DROP SCHEMA IF EXISTS tk CASCADE; DROP TABLE IF EXISTS tk_accounts, tk_notes, tk_lock, tk_kysely_lock CASCADE'));

describe('applyMigrations', () => {
  it('applies statement by statement, awaits the index job, records progress, gives the lease back; again is a no-op', async () => {
    const { session } = sessionOn();
    const events: MigrationEvent[] = [];
    expect(await readTracking(session, run().names)).toEqual(new Map()); // read-only before the first run
    const result = await applyMigrations(session, MIGRATIONS, run({ onEvent: (e) => events.push(e) }));
    expect(result).toEqual({ applied: ['0001_accounts', '0002_notes'], statements: 4 });
    const job = events.find((e) => e.type === 'job') as { jobId: string };
    expect(await adminQuery(local, `SELECT status FROM sys.jobs WHERE job_id = '${job.jobId}'`)).toEqual([{ status: 'completed' }]);
    expect(await adminQuery(local, 'SELECT tag, steps, started, done, finished_at IS NOT NULL AS finished FROM tk.history ORDER BY created_at')).toEqual([
      { tag: '0001_accounts', steps: 2, started: 2, done: 2, finished: true },
      { tag: '0002_notes', steps: 2, started: 2, done: 2, finished: true },
    ]);
    expect(await adminQuery(local, 'SELECT * FROM tk.history_lock')).toEqual([]);
    expect([...(await readTracking(session, run().names)).values()].map((m) => m.finished)).toEqual([true, true]);
    expect(await applyMigrations(session, MIGRATIONS, run())).toEqual({ applied: [], statements: 0 });
  });

  it('resumes after a crash: the uncertain statement runs again, "already exists" counts as applied', async () => {
    // One attempt per transaction: the pool would otherwise retry after the lost connection.
    const { session } = sessionOn(local, 1);
    const crashed = applyMigrations(session, MIGRATIONS, run({
      lockLeaseSeconds: 1,
      retry: { maxAttempts: 1 },
      onEvent: (e) => {
        if (e.type === 'statement' && e.tag === '0002_notes' && e.step === 1) {
          // The table is created; the connection dies as its progress is recorded, and the lease is never given back.
          local.inject({ on: 'query', match: /SET done =/, drop: true });
          local.inject({ on: 'query', match: /DELETE FROM "tk"\."history_lock"/, drop: true });
        }
      },
    }));
    await expect(crashed).rejects.toThrow();
    expect(await adminQuery(local, `SELECT started, done FROM tk.history WHERE tag = '0002_notes'`)).toEqual([{ started: 1, done: 0 }]);

    const events: MigrationEvent[] = [];
    const resumed = await applyMigrations(sessionOn().session, MIGRATIONS, run({ onEvent: (e) => events.push(e) }));
    expect(resumed).toEqual({ applied: ['0002_notes'], statements: 1 });
    expect(events.find((e) => e.type === 'lock-acquired')).toMatchObject({ tookOverFrom: expect.any(String) });
    expect(events.filter((e) => e.type === 'statement-assumed-applied')).toEqual([expect.objectContaining({ tag: '0002_notes', step: 1, sqlstate: '42P07' })]);
    expect(await adminQuery(local, `SELECT done, finished_at IS NOT NULL AS finished FROM tk.history WHERE tag = '0002_notes'`)).toEqual([{ done: 2, finished: true }]);
  });

  it('refuses a migration whose content changed after some of its statements ran', async () => {
    const { session } = sessionOn();
    await expect(applyMigrations(session, [{ ...MIGRATIONS[0]!, steps: [step('CREATE TABLE tk_accounts (id uuid PRIMARY KEY)'), step('SELECT 1/0')] }], run())).rejects.toThrow();
    const changed = applyMigrations(session, [{ ...MIGRATIONS[0]!, hash: 'other' }], run());
    await expect(changed).rejects.toMatchObject({ code: 'invalid-config', message: expect.stringContaining('migration 0001_accounts') });
  });

  it('validates its options, naming the field', () => {
    expect(() => run({ lockLeaseSeconds: 0 })).toThrow(/lockLeaseSeconds/);
    expect(() => run({ migrationsTable: '' })).toThrow(/migrationsTable/);
  });
});

describe('TableLease', () => {
  it('one holder at a time; a waiter times out naming the holder; an expired lease is taken over and its old holder learns it', async () => {
    const { session } = sessionOn();
    await session.transaction((tx) => tx.query(new TableLease(['tk_lock'], 'x', 1).createTableSql()));
    const first = new TableLease(['tk_lock'], 'first', 400);
    const second = new TableLease(['tk_lock'], 'second', 60_000);
    expect(await first.tryTake(session)).toEqual({ acquired: true });
    const waits: string[] = [];
    const timedOut = waitForLease(() => second.tryTake(session), {
      timeoutMs: 100,
      nextDelayMs: () => 20,
      onWait: (held) => waits.push(held.holder),
      timeoutError: (held) => new MigrationLockError(`held by ${held.holder}`),
    });
    await expect(timedOut).rejects.toThrow('held by first');
    expect(waits).toEqual(['first']); // reported once, not per look
    await new Promise((r) => setTimeout(r, 500)); // first's lease runs out
    expect(await waitForLease(() => second.tryTake(session), { timeoutMs: 0, nextDelayMs: () => 1, timeoutError: () => new Error('busy') })).toEqual({ acquired: true, tookOverFrom: 'first' });
    expect(await session.transaction((tx) => first.renew(tx))).toBe(false);
    expect(await session.transaction((tx) => second.renew(tx))).toBe(true);
    await first.release(session); // not ours any more: leaves the row alone
    expect(await adminQuery(local, 'SELECT holder FROM tk_lock')).toEqual([{ holder: 'second' }]);
    await second.release(session);
    expect(await adminQuery(local, 'SELECT holder FROM tk_lock')).toEqual([]);
  });
});

describe('RowLease (an ORM-owned lock row with an integer column)', () => {
  const options = { table: ['tk_kysely_lock'], rowId: 'migration_lock', acquireTimeoutMs: 200, pollIntervalMs: 20, timeoutError: () => new Error('timed out'), lostError: (until: Date) => new Error(`lost, until ${until.toISOString()}`) };
  const isLocked = async (): Promise<number> => Number((await adminQuery(local, 'SELECT is_locked FROM tk_kysely_lock'))[0]!.is_locked);
  beforeEach(() => adminQuery(local, `CREATE TABLE tk_kysely_lock (id varchar(255) PRIMARY KEY, is_locked integer DEFAULT 0 NOT NULL); INSERT INTO tk_kysely_lock VALUES ('migration_lock', 0)`));

  it('takes the row, refuses a second taker until released, frees it on release', async () => {
    const { session } = sessionOn();
    const a = new RowLease({ ...options, leaseSeconds: 60 });
    await a.acquire(session);
    expect(await isLocked()).toBeGreaterThan(0);
    await expect(new RowLease({ ...options, leaseSeconds: 60 }).acquire(session)).rejects.toThrow('timed out');
    await a.release(session);
    expect(await isLocked()).toBe(0);
  });

  it('renews through the detached runner, and reports a lease another took over', async () => {
    const { pool, session } = sessionOn();
    const detached: DetachedQuery = async (text, params) => (await pool.query(text, [...params])).rows;
    const lease = new RowLease({ ...options, leaseSeconds: 3, detached });
    await lease.acquire(session);
    const before = await isLocked();
    await new Promise((r) => setTimeout(r, 1_300)); // one renewal (every second)
    expect(await isLocked()).toBeGreaterThan(before);
    await adminQuery(local, 'UPDATE tk_kysely_lock SET is_locked = is_locked + 1000'); // another holder
    await expect(lease.release(session)).rejects.toThrow(/^lost, until \d{4}-/);
    expect(await isLocked()).toBeGreaterThan(0); // the other holder's lease is left alone
  });
});

describe('jobs', () => {
  it('jobIdOf reads the job of CREATE INDEX ASYNC; CALL sys.wait_for_job and awaitJob both wait for it', async () => {
    const { pool, session } = sessionOn();
    await pool.query('CREATE TABLE tk_accounts (id uuid PRIMARY KEY, email text)');
    const created = await pool.query('CREATE INDEX ASYNC tk_a ON tk_accounts (email)');
    const jobId = jobIdOf({ command: created.command, rows: created.rows })!;
    expect(jobId).toMatch(/^[a-z2-7]{26}$/);
    await pool.query(waitForJobSql(jobId));
    await awaitJob(session, jobId, { timeoutMs: 10_000, statement: 'CREATE INDEX ASYNC tk_a' });
    expect(await unfinishedJobs(session)).toEqual([]);
    expect(jobIdOf({ command: 'SELECT', rows: [{ job_id: jobId }] })).toBeUndefined();
  });

  it('awaitJob rejects with MigrationJobError for a failed job (duplicates under a unique index)', async () => {
    const { pool, session } = sessionOn();
    await pool.query('CREATE TABLE tk_accounts (id uuid PRIMARY KEY, email text)');
    await pool.query(`INSERT INTO tk_accounts VALUES (gen_random_uuid(), 'a'), (gen_random_uuid(), 'a')`);
    const { rows } = await pool.query('CREATE UNIQUE INDEX ASYNC tk_u ON tk_accounts (email)');
    const failed = awaitJob(session, String(rows[0].job_id), { timeoutMs: 10_000, statement: 'CREATE UNIQUE INDEX ASYNC tk_u' });
    await expect(failed).rejects.toBeInstanceOf(MigrationJobError);
    await expect(failed).rejects.toThrow(/failed for: CREATE UNIQUE INDEX ASYNC tk_u/);
  });

  it('unfinishedJobs lists a job still running, and awaitJob gives up after its timeout', async () => {
    const slow = await startDsqlLocal({ rules: createDsqlRules({ asyncJobMs: 1500 }) });
    try {
      const { pool, session } = sessionOn(slow);
      await pool.query('CREATE TABLE tk_slow (id uuid PRIMARY KEY, n int)');
      const { rows } = await pool.query('CREATE INDEX ASYNC tk_slow_n ON tk_slow (n)');
      const jobId = String(rows[0].job_id);
      expect(await unfinishedJobs(session)).toEqual([jobId]);
      await expect(awaitJob(session, jobId, { timeoutMs: 100, statement: 'CREATE INDEX ASYNC tk_slow_n' })).rejects.toThrow(/still (submitted|processing) after 0 s/);
      let polls = 0;
      await awaitJob(session, jobId, { timeoutMs: 10_000, statement: 'x', whileWaiting: async () => void polls++ });
      expect(polls).toBeGreaterThan(0);
    } finally {
      await Promise.all(pools.splice(0).map((p) => p.end()));
      await slow.stop();
    }
  });
});
