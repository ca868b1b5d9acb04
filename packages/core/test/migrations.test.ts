/**
 * The migration toolkit's pure parts (`@dsql/core/migrations`): names, job ids, options, the
 * wait for a held lease, and that it imports no driver. Its SQL runs against @dsql/local in
 * packages/drizzle/test/migration-toolkit.int.test.ts (core cannot depend on @dsql/local).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDsqlError } from '../src/index.js';
import {
  DsqlJobError,
  MigrationJobError,
  MigrationLockError,
  jobIdOf,
  quoteIdent,
  resolveMigrationRun,
  waitForJobSql,
  waitForLease,
  type LeaseAttempt,
} from '../src/migrations.js';

const JOB = 'qfzv5uemkrg2lbczil2fim3o2q';

describe('quoteIdent', () => {
  it('quotes each part and doubles embedded quotes', () => {
    expect(quoteIdent('drizzle', '__drizzle_migrations')).toBe('"drizzle"."__drizzle_migrations"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
  });
});

describe('jobs', () => {
  it('jobIdOf: one job_id row of a CREATE or ALTER statement, in DSQL job id form', () => {
    expect(jobIdOf({ command: 'CREATE INDEX', rows: [{ job_id: JOB }] })).toBe(JOB);
    expect(jobIdOf({ command: 'ALTER', rows: [{ job_id: JOB }] })).toBe(JOB);
    expect(jobIdOf({ command: 'SELECT', rows: [{ job_id: JOB }] })).toBeUndefined();
    expect(jobIdOf({ command: 'CREATE', rows: [{ job_id: JOB }, { job_id: JOB }] })).toBeUndefined();
    expect(jobIdOf({ command: 'CREATE', rows: [{ job_id: "x'); DROP TABLE t; --" }] })).toBeUndefined();
    expect(jobIdOf({ command: undefined, rows: [{ job_id: JOB }] })).toBeUndefined();
  });

  it('waitForJobSql writes only a valid id into the CALL', () => {
    expect(waitForJobSql(JOB)).toBe(`CALL sys.wait_for_job('${JOB}')`);
    expect(() => waitForJobSql("a') --")).toThrow(/Invalid DSQL job id: got "a'\) --"; expected 26 characters/);
  });

  it('DsqlJobError says the statement committed; MigrationJobError is a DsqlError', () => {
    const job = new DsqlJobError(JOB, new Error('duplicate key'));
    expect(job).toMatchObject({ name: 'DsqlJobError', jobId: JOB, committed: true });
    expect(job.message).toBe(`DSQL job ${JOB} did not complete: duplicate key. The statement that started it was committed; check sys.jobs.`);
    const migration = new MigrationJobError(JOB, 'failed');
    expect(isDsqlError(migration, 'transaction-rolled-back')).toBe(true);
    expect(isDsqlError(new MigrationLockError('lost'), 'timeout')).toBe(true);
  });
});

describe('resolveMigrationRun', () => {
  const defaults = { caller: 'migrate()', migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' };

  it('fills in defaults', () => {
    const run = resolveMigrationRun({}, defaults);
    expect(run).toMatchObject({ names: { schema: 'drizzle', table: '__drizzle_migrations' }, leaseMs: 120_000, lockTimeoutMs: 600_000, jobTimeoutMs: 3_600_000, retry: {}, caller: 'migrate()' });
    expect(Object.isFrozen(run)).toBe(true);
    expect(resolveMigrationRun({ lockLeaseSeconds: 0.5, migrationsSchema: 'ops' }, defaults)).toMatchObject({ leaseMs: 500, names: { schema: 'ops' } });
  });

  it.each([
    [{ lockLeaseSeconds: 0 }, 'lockLeaseSeconds', '0'],
    [{ lockTimeoutSeconds: Number.NaN }, 'lockTimeoutSeconds', 'null'],
    [{ jobTimeoutSeconds: '60' as unknown as number }, 'jobTimeoutSeconds', '"60"'],
    [{ migrationsTable: '' }, 'migrationsTable', '""'],
    [{ migrationsSchema: 'x'.repeat(60) }, 'migrationsSchema', 'xxxx'],
  ])('refuses %j naming the field and the value', (options, field, value) => {
    let error: unknown;
    try {
      resolveMigrationRun(options, defaults);
    } catch (err) {
      error = err;
    }
    expect(isDsqlError(error, 'invalid-config')).toBe(true);
    expect((error as Error).message).toContain(field);
    expect((error as Error).message).toContain(value);
  });
});

describe('waitForLease', () => {
  const held: LeaseAttempt = { acquired: false, holder: 'other/1/ab', expiresAt: '2026-12-07 10:00:00+00' };

  it('looks again after each pause until the lease is taken, reporting the wait once', async () => {
    const answers: LeaseAttempt[] = [held, held, { acquired: true, tookOverFrom: 'other/1/ab' }];
    const waits: string[] = [];
    const delays: number[] = [];
    const taken = await waitForLease(async () => answers.shift()!, {
      timeoutMs: 10_000,
      nextDelayMs: () => (delays.push(5), 5),
      onWait: (h) => waits.push(h.holder),
      timeoutError: () => new Error('timed out'),
    });
    expect(taken).toEqual({ acquired: true, tookOverFrom: 'other/1/ab' });
    expect(waits).toEqual(['other/1/ab']);
    expect(delays).toHaveLength(2);
  });

  it('fails with the caller\'s error once the time is up, never pausing past the deadline', async () => {
    let looks = 0;
    const started = Date.now();
    const waiting = waitForLease(async () => (looks++, held), {
      timeoutMs: 120,
      nextDelayMs: () => 60_000,
      timeoutError: (h) => new MigrationLockError(`held by ${h.holder}`),
    });
    await expect(waiting).rejects.toThrow('held by other/1/ab');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(looks).toBe(2); // one look, one pause cut to the deadline, one last look
  });

  it('with no time to wait, looks once', async () => {
    let looks = 0;
    await expect(waitForLease(async () => (looks++, held), { timeoutMs: 0, nextDelayMs: () => 1, timeoutError: () => new Error('busy') })).rejects.toThrow('busy');
    expect(looks).toBe(1);
  });
});

describe('the toolkit imports no driver', () => {
  it('only core modules and node: built-ins', () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'migrations');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const imports = [...readFileSync(join(dir, file), 'utf8').matchAll(/^(?:import|export|\})[^\n]*from '([^']+)'/gm)].map((m) => m[1]!);
      for (const spec of imports) expect([file, spec]).toEqual([file, expect.stringMatching(/^(node:[a-z]+|\.\.?\/([a-z-]+\/)*[a-z-]+\.js)$/)]);
    }
  });
});
