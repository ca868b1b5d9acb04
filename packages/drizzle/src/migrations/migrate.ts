/**
 * `migrate(db, config)`: applies a drizzle-kit migrations folder to Aurora DSQL — every
 * statement in its own transaction, progress recorded so an interrupted run resumes where it
 * stopped, one process at a time (a lease lock), index builds sent ASYNC and awaited, and
 * statements DSQL would refuse reported before anything runs.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'drizzle-orm';
import { DsqlConfigError, DsqlError, isOccError, sleep, withRetry, type RetryOptions } from '@dsql/core';
import { sqlstateOf } from '../sqlstate.js';
import { MigrationCheckError } from './check.js';
import { executorOf, type Executor, type MigratableDatabase } from './executor.js';
import { planFolder } from './plan.js';
import type { Step } from './rules.js';
import {
  MigrationLockError,
  ensureTrackingTables,
  keepLock,
  readTracking,
  recordProgress,
  registerMigration,
  releaseLock,
  trackingTableExists,
  tryLock,
  type TrackingNames,
} from './tracking.js';

/**
 * Options of `migrate()`.
 *
 * @example
 * const config: MigrationConfig = { migrationsFolder: './drizzle', lockLeaseSeconds: 300 };
 */
export interface MigrationConfig {
  /** The drizzle-kit output folder (with `meta/_journal.json`). */
  migrationsFolder: string;
  /** Tracking table name; default `__drizzle_migrations` (the lock table is `<name>_lock`). */
  migrationsTable?: string;
  /** Schema of the tracking tables; default `drizzle`. */
  migrationsSchema?: string;
  /**
   * Lease of the migration lock, renewed before every statement and while index jobs run;
   * a killed process's lock frees itself after this long. Must exceed the longest single
   * statement (index builds excepted). Default 120.
   */
  lockLeaseSeconds?: number;
  /** How long to wait for another `migrate()` holding the lock; default 600. */
  lockTimeoutSeconds?: number;
  /** How long to wait for one index build or constraint validation job; default 3600. */
  jobTimeoutSeconds?: number;
  /** OCC retry of every statement and bookkeeping transaction (core's retry options). */
  retry?: RetryOptions;
  /** Progress, for logging: locks, statements, jobs, resumptions. */
  onEvent?: (event: MigrationEvent) => void;
}

/**
 * What `migrate()` reports through `onEvent`.
 *
 * @example
 * migrate(db, { migrationsFolder, onEvent: (e) => e.type === 'statement' && console.warn(e.tag, e.step, e.sql) });
 */
export type MigrationEvent =
  | { type: 'lock-wait'; holder: string; expiresAt: string }
  | { type: 'lock-acquired'; holder: string; tookOverFrom?: string }
  | { type: 'migration-start'; tag: string; steps: number; resumeAt: number }
  | { type: 'statement'; tag: string; step: number; steps: number; sql: string }
  | { type: 'statement-assumed-applied'; tag: string; step: number; sql: string; sqlstate: string }
  | { type: 'job'; tag: string; step: number; jobId: string }
  | { type: 'migration-done'; tag: string };

/**
 * What `migrate()` did.
 *
 * @example
 * const { applied } = await migrate(db, { migrationsFolder: './drizzle' });
 */
export interface MigrationResult {
  /** Tags of the migrations finished by this run, in order. */
  applied: string[];
  /** Statements sent by this run. */
  statements: number;
}

/**
 * An asynchronous job (index build, constraint validation) failed, was cancelled or took too long.
 *
 * @example
 * if (err instanceof MigrationJobError) console.error(err.jobId, err.message);
 */
export class MigrationJobError extends DsqlError {
  override name = 'MigrationJobError';
  readonly jobId: string;
  constructor(jobId: string, message: string) {
    // The job's work did not happen: nothing of it is in the database.
    super('transaction-rolled-back', message);
    this.jobId = jobId;
  }
}

/** Errors of re-running a statement that had already run: it exists already, or is gone already. */
const ALREADY_APPLIED = new Set(['42P07', '42701', '42710', '42P06', '42P01', '42703', '42704', '3F000']);

function seconds(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback * 1000;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new DsqlConfigError(field, JSON.stringify(value), 'a number of seconds greater than 0');
  }
  return value * 1000;
}

function name(field: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0 || value.length > 59) {
    throw new DsqlConfigError(field, JSON.stringify(value), 'a non-empty identifier of at most 59 characters');
  }
  return value;
}

interface Run {
  exec: Executor;
  names: TrackingNames;
  lock: { holder: string; leaseMs: number };
  jobTimeoutMs: number;
  retry: RetryOptions;
  emit: (event: MigrationEvent) => void;
}

async function acquireLock(run: Run, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  let waiting = false;
  for (;;) {
    const attempt = await tryLock(run.exec, run.names, run.lock.holder, run.lock.leaseMs);
    if (attempt.acquired) {
      run.emit({ type: 'lock-acquired', holder: run.lock.holder, ...(attempt.tookOverFrom ? { tookOverFrom: attempt.tookOverFrom } : {}) });
      return;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new MigrationLockError(
        `Another migrate() (${attempt.holder}) holds the migration lock of ${run.names.schema}.${run.names.table} until ${attempt.expiresAt}; ` +
          `waited ${Math.round(timeoutMs / 1000)} s. If that process died, its lease expires by itself then.`,
      );
    }
    if (!waiting) run.emit({ type: 'lock-wait', holder: attempt.holder, expiresAt: attempt.expiresAt });
    waiting = true;
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, 2000);
  }
}

/** Polls `sys.jobs` until the job completes, renewing the lease meanwhile. */
async function waitForJob(run: Run, jobId: string, statement: string): Promise<void> {
  const deadline = Date.now() + run.jobTimeoutMs;
  let renewed = Date.now();
  let delay = 50;
  for (;;) {
    const [row] = await run.exec.query(sql`SELECT status, details FROM sys.jobs WHERE job_id = ${jobId}`);
    const status = String(row?.status ?? '').toLowerCase();
    if (status === 'completed') return;
    if (status === 'failed' || status === 'cancelled') {
      throw new MigrationJobError(
        jobId,
        `Job ${jobId} ${status} for: ${statement}${row?.details ? ` — ${String(row.details)}` : ''}. ` +
          'Fix the data or the statement, drop what the job left (e.g. the invalid index), and run migrate() again.',
      );
    }
    if (Date.now() > deadline) {
      throw new MigrationJobError(jobId, `Job ${jobId} still ${status || 'not visible'} after ${Math.round(run.jobTimeoutMs / 1000)} s: ${statement}`);
    }
    if (Date.now() - renewed > run.lock.leaseMs / 3) {
      await keepLock(run.exec, run.names, run.lock);
      renewed = Date.now();
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 1000);
  }
}

/**
 * After an interrupted run, the uncertain statement may be an index build or validation that
 * was submitted but not awaited: its job may still run. DSQL does not say which job belongs to
 * which statement, so every unfinished build/validation job is awaited (ANALYZE jobs aside).
 */
async function waitForUnfinishedJobs(run: Run, tag: string, index: number, statement: string): Promise<void> {
  const rows = await run.exec.query(
    sql`SELECT job_id FROM sys.jobs WHERE status IN ('submitted', 'processing') AND job_type <> 'ANALYZE'`,
  );
  for (const row of rows) {
    const jobId = String(row.job_id);
    run.emit({ type: 'job', tag, step: index, jobId });
    await waitForJob(run, jobId, statement);
  }
}

async function runStep(run: Run, step: Step, tag: string, index: number): Promise<void> {
  // A statement refused with an OCC conflict (e.g. a concurrent schema change) did not apply: run it again.
  const rows = await withRetry(() => run.exec.query(sql.raw(step.sql)), { ...run.retry, retryOn: isOccError });
  if (!step.job) return;
  const jobId = rows[0]?.job_id;
  if (typeof jobId !== 'string' || jobId === '') {
    throw new MigrationJobError('', `Expected a job_id from: ${step.sql}`);
  }
  run.emit({ type: 'job', tag, step: index, jobId });
  await waitForJob(run, jobId, step.sql);
}

/**
 * Applies the pending migrations of a drizzle-kit folder to Aurora DSQL, in journal order.
 * `db` is a Drizzle database from either driver of this package (or any Drizzle Postgres database).
 *
 * - **Checked first**: every pending statement is parsed and checked against DSQL's rules; if any
 *   would be refused, `MigrationCheckError` lists them (file, line, statement, fix) and nothing runs.
 * - **Rewritten for DSQL**: `CREATE INDEX` → `CREATE INDEX ASYNC` (awaited in `sys.jobs`); foreign
 *   keys and checks added to existing tables → `NOT VALID`, then `ALTER TABLE ASYNC … VALIDATE`;
 *   `ADD CONSTRAINT … UNIQUE` → a unique index built ASYNC and adopted. Multi-statement chunks are
 *   split with the PostgreSQL parser.
 * - **One statement per transaction**, recorded in a DSQL-compatible tracking table
 *   (`drizzle.__drizzle_migrations`, no SERIAL) before and after it runs: an interrupted run
 *   resumes at the statement it stopped at. The one statement whose outcome is unknown is run
 *   again, and an "already exists" / "does not exist" answer to it counts as applied.
 * - **One process at a time**: a lease lock (`<table>_lock`), renewed as the run goes; other
 *   `migrate()` calls wait for it (`lockTimeoutSeconds`), then find the work done.
 * - Applying again is a no-op.
 *
 * @example
 * import { drizzle } from '@dsql/drizzle';
 * import { migrate } from '@dsql/drizzle/migrator';
 *
 * const db = drizzle({ connection: { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' } });
 * const { applied } = await migrate(db, { migrationsFolder: './drizzle' });
 * console.warn('applied', applied);
 * await db.$client.end();
 */
export async function migrate(db: MigratableDatabase, config: MigrationConfig): Promise<MigrationResult> {
  if (config === null || typeof config !== 'object' || typeof config.migrationsFolder !== 'string') {
    throw new DsqlConfigError('migrationsFolder', JSON.stringify(config?.migrationsFolder), 'the path of a drizzle-kit migrations folder');
  }
  const names: TrackingNames = {
    schema: name('migrationsSchema', config.migrationsSchema, 'drizzle'),
    table: name('migrationsTable', config.migrationsTable, '__drizzle_migrations'),
  };
  const leaseMs = seconds('lockLeaseSeconds', config.lockLeaseSeconds, 120);
  const lockTimeoutMs = seconds('lockTimeoutSeconds', config.lockTimeoutSeconds, 600);
  const retry = config.retry ?? {};
  const exec = executorOf(db, retry);
  const run: Run = {
    exec,
    names,
    lock: { holder: `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`, leaseMs },
    jobTimeoutMs: seconds('jobTimeoutSeconds', config.jobTimeoutSeconds, 3600),
    retry,
    emit: (event) => config.onEvent?.(event),
  };

  const plan = await planFolder(config.migrationsFolder);
  // Read-only until the check has passed: nothing is created for a folder DSQL would refuse.
  const before = (await trackingTableExists(exec, names)) ? await readTracking(exec.query, names) : new Map();
  const pending = plan.migrations.filter((m) => !before.get(m.file.when)?.finished);
  const pendingFiles = new Set(pending.map((m) => m.file.file));
  const refused = plan.problems.filter((p) => p.severity === 'error' && pendingFiles.has(p.file));
  if (refused.length) throw new MigrationCheckError(refused);
  const result: MigrationResult = { applied: [], statements: 0 };
  if (pending.length === 0) return result;

  await ensureTrackingTables(exec, names);
  try {
    // Inside the try: a lock row whose COMMIT answer was lost may be ours, and must not be
    // left to expire (the next run would wait out its lease). Releasing deletes our row only.
    await acquireLock(run, lockTimeoutMs);
    const tracked = await readTracking(exec.query, names);
    for (const { file, steps } of plan.migrations) {
      if (tracked.get(file.when)?.finished) continue;
      const row = await registerMigration(exec, names, run.lock, { createdAt: file.when, hash: file.hash, tag: file.tag, steps: steps.length });
      if (row.finished) continue;
      if (row.hash !== file.hash || row.steps !== steps.length) {
        throw new DsqlConfigError(
          `migration ${file.tag}`,
          `a file whose content changed after ${row.done} of its statements were applied`,
          `the file as it was when it started (hash ${row.hash.slice(0, 12)}…); restore it, or finish the migration by hand and record it`,
        );
      }
      run.emit({ type: 'migration-start', tag: file.tag, steps: steps.length, resumeAt: row.done + 1 });
      for (let i = row.done + 1; i <= steps.length; i++) {
        const step = steps[i - 1]!;
        const uncertain = row.started >= i;
        if (!uncertain) await recordProgress(exec, names, run.lock, file.when, { started: i });
        run.emit({ type: 'statement', tag: file.tag, step: i, steps: steps.length, sql: step.sql });
        try {
          await runStep(run, step, file.tag, i);
          result.statements++;
        } catch (err) {
          const sqlstate = sqlstateOf(err);
          if (!uncertain || sqlstate === undefined || !ALREADY_APPLIED.has(sqlstate)) throw err;
          // The interrupted run got this far: its effect is there already.
          run.emit({ type: 'statement-assumed-applied', tag: file.tag, step: i, sql: step.sql, sqlstate });
          if (step.job) await waitForUnfinishedJobs(run, file.tag, i, step.sql);
        }
        await recordProgress(exec, names, run.lock, file.when, { done: i, finished: i === steps.length });
      }
      if (steps.length === 0) await recordProgress(exec, names, run.lock, file.when, { done: 0, finished: true });
      result.applied.push(file.tag);
      run.emit({ type: 'migration-done', tag: file.tag });
    }
  } finally {
    await releaseLock(exec, names, run.lock.holder).catch(() => undefined);
  }
  return result;
}
