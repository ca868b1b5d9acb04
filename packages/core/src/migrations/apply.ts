/**
 * Applying migrations on Aurora DSQL statement by statement: every statement in its own
 * transaction, progress recorded before and after it so an interrupted run resumes where it
 * stopped, one run at a time under a lease ({@link TableLease}), and the jobs of
 * `CREATE INDEX ASYNC` / `ALTER TABLE ASYNC` awaited before the next statement.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { errorChain } from '../errors/error-chain.js';
import { DsqlConfigError, DsqlError } from '../errors/errors.js';
import { withRetry, type RetryOptions } from '../retry.js';
import { isOccError } from '../errors/sqlstate.js';
import { awaitJob, MigrationJobError, unfinishedJobs } from './jobs.js';
import { isCreateRace, TableLease, waitForLease } from './lease.js';
import type { MigrationSession, MigrationSql } from './session.js';
import { readRows, recordProgress, registerMigration, trackingDdl, type TrackingNames } from './tracking.js';

/**
 * The lease was lost (it expired and another run took it over), or could not be had in time:
 * this run stops.
 *
 * @example
 * if (err instanceof MigrationLockError) console.error(err.message);
 */
export class MigrationLockError extends DsqlError {
  override name = 'MigrationLockError';
  constructor(message: string) {
    // The lease timed out (or the wait for it did): DsqlError's 'timeout' code.
    super('timeout', message);
  }
}

/** One statement of a migration, run in its own transaction. */
export interface MigrationStep {
  sql: string;
  /** The statement answers a `job_id` (`CREATE INDEX ASYNC`, `ALTER TABLE ASYNC`) to wait for. */
  job: boolean;
}

/** One migration to apply: its key in the tracking table, a name, a hash of its content, its statements. */
export interface MigrationToApply {
  /** Key in the tracking table (Drizzle: the journal's `when`); migrations are applied in the order given. */
  createdAt: number;
  tag: string;
  /** A migration whose hash changed after some of its statements ran is refused. */
  hash: string;
  steps: readonly MigrationStep[];
}

/**
 * Options of {@link applyMigrations}, validated by {@link resolveMigrationRun}.
 *
 * @example
 * const options: MigrationRunOptions = { migrationsSchema: 'ops', lockLeaseSeconds: 300 };
 */
export interface MigrationRunOptions {
  /** Tracking table name (the lock table is `<name>_lock`). */
  migrationsTable?: string;
  /** Schema of the tracking tables. */
  migrationsSchema?: string;
  /**
   * Lease of the migration lock, renewed before every statement and while jobs run; a killed
   * process's lock frees itself after this long. Must exceed the longest single statement
   * (jobs excepted). Default 120.
   */
  lockLeaseSeconds?: number;
  /** How long to wait for another run holding the lock; default 600. */
  lockTimeoutSeconds?: number;
  /** How long to wait for one index build or constraint validation job; default 3600. */
  jobTimeoutSeconds?: number;
  /** OCC retry of every statement and bookkeeping transaction (core's retry options). */
  retry?: RetryOptions;
  /** Progress, for logging: locks, statements, jobs, resumptions. */
  onEvent?: (event: MigrationEvent) => void;
}

/**
 * What a run reports through `onEvent`.
 *
 * @example
 * applyMigrations(session, migrations, run, { onEvent: (e) => e.type === 'statement' && console.warn(e.tag, e.step, e.sql) });
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
 * What a run did.
 *
 * @example
 * const { applied } = await applyMigrations(session, migrations, run);
 */
export interface MigrationResult {
  /** Tags of the migrations finished by this run, in order. */
  applied: string[];
  /** Statements sent by this run. */
  statements: number;
}

/** {@link MigrationRunOptions} validated, with defaults filled in. */
export interface ResolvedMigrationRun {
  readonly names: TrackingNames;
  readonly leaseMs: number;
  readonly lockTimeoutMs: number;
  readonly jobTimeoutMs: number;
  readonly retry: RetryOptions;
  readonly onEvent: ((event: MigrationEvent) => void) | undefined;
  /** How messages name the caller (`migrate()`). */
  readonly caller: string;
}

function seconds(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback * 1000;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new DsqlConfigError(field, JSON.stringify(value), 'a number of seconds greater than 0');
  }
  return value * 1000;
}

function identifier(field: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0 || value.length > 59) {
    throw new DsqlConfigError(field, JSON.stringify(value), 'a non-empty identifier of at most 59 characters');
  }
  return value;
}

/**
 * Validates run options (each bad value fails with `DsqlConfigError` naming the field) and fills
 * in defaults: the caller's table names, lease 120 s, lock wait 600 s, job wait 3600 s.
 *
 * @example
 * const run = resolveMigrationRun(config, { caller: 'migrate()', migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' });
 */
export function resolveMigrationRun(
  options: MigrationRunOptions,
  defaults: { caller: string; migrationsSchema: string; migrationsTable: string },
): ResolvedMigrationRun {
  return Object.freeze({
    names: {
      schema: identifier('migrationsSchema', options.migrationsSchema, defaults.migrationsSchema),
      table: identifier('migrationsTable', options.migrationsTable, defaults.migrationsTable),
    },
    leaseMs: seconds('lockLeaseSeconds', options.lockLeaseSeconds, 120),
    lockTimeoutMs: seconds('lockTimeoutSeconds', options.lockTimeoutSeconds, 600),
    jobTimeoutMs: seconds('jobTimeoutSeconds', options.jobTimeoutSeconds, 3600),
    retry: options.retry ?? {},
    onEvent: options.onEvent,
    caller: defaults.caller,
  });
}

/** Errors of re-running a statement that had already run: it exists already, or is gone already. */
const ALREADY_APPLIED = new Set(['42P07', '42701', '42710', '42P06', '42P01', '42703', '42704', '3F000']);

const sqlstateOf = (err: unknown): string | undefined => errorChain(err).find((e) => e.sqlstate !== undefined)?.sqlstate;

/** One run's state: the session, the lease, and how to report. */
class Run {
  readonly lease: TableLease;
  constructor(
    readonly session: MigrationSession,
    readonly options: ResolvedMigrationRun,
  ) {
    const { schema, table } = options.names;
    this.lease = new TableLease([schema, `${table}_lock`], `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`, options.leaseMs);
  }

  emit(event: MigrationEvent): void {
    this.options.onEvent?.(event);
  }

  /** A bookkeeping transaction that first renews the lease, and stops the run when it was lost. */
  underLease<T>(fn: (tx: MigrationSql) => Promise<T>): Promise<T> {
    return this.session.transaction(async (tx) => {
      if (!(await this.lease.renew(tx))) {
        const { schema, table } = this.options.names;
        throw new MigrationLockError(
          `The migration lock of ${schema}.${table} was lost (its lease expired and another ${this.options.caller} took it over); ` +
            'this run stopped. Raise lockLeaseSeconds above the longest pause between two statements.',
        );
      }
      return fn(tx);
    });
  }

  async ensureTables(): Promise<void> {
    // Another run may create them at the same moment: its table wins, ours finds it there.
    for (const statement of [...trackingDdl(this.options.names), this.lease.createTableSql()]) {
      await this.session.transaction((tx) => tx.query(statement), isCreateRace);
    }
  }

  async acquire(): Promise<void> {
    const { names, lockTimeoutMs, caller } = this.options;
    let delay = 100;
    const taken = await waitForLease(() => this.lease.tryTake(this.session), {
      timeoutMs: lockTimeoutMs,
      nextDelayMs: () => {
        const now = delay;
        delay = Math.min(delay * 2, 2000);
        return now;
      },
      onWait: (held) => this.emit({ type: 'lock-wait', holder: held.holder, expiresAt: held.expiresAt }),
      timeoutError: (held) =>
        new MigrationLockError(
          `Another ${caller} (${held.holder}) holds the migration lock of ${names.schema}.${names.table} until ${held.expiresAt}; ` +
            `waited ${Math.round(lockTimeoutMs / 1000)} s. If that process died, its lease expires by itself then.`,
        ),
    });
    this.emit({ type: 'lock-acquired', holder: this.lease.holder, ...(taken.tookOverFrom ? { tookOverFrom: taken.tookOverFrom } : {}) });
  }

  /** Awaits a job, renewing the lease every third of it meanwhile. */
  async awaitJob(jobId: string, statement: string): Promise<void> {
    let renewed = Date.now();
    await awaitJob(this.session, jobId, {
      timeoutMs: this.options.jobTimeoutMs,
      statement,
      whileWaiting: async () => {
        if (Date.now() - renewed <= this.options.leaseMs / 3) return;
        await this.underLease(async () => undefined);
        renewed = Date.now();
      },
    });
  }

  async runStep(step: MigrationStep, tag: string, index: number): Promise<void> {
    // A statement refused with an OCC conflict (e.g. a concurrent schema change) did not apply: run it again.
    const { rows } = await withRetry(() => this.session.query(step.sql), { ...this.options.retry, retryOn: isOccError });
    if (!step.job) return;
    const jobId = rows[0]?.['job_id'];
    if (typeof jobId !== 'string' || jobId === '') throw new MigrationJobError('', `Expected a job_id from: ${step.sql}`);
    this.emit({ type: 'job', tag, step: index, jobId });
    await this.awaitJob(jobId, step.sql);
  }

  /**
   * After an interrupted run, the uncertain statement may be an index build or validation that
   * was submitted but not awaited: its job may still run. DSQL does not say which job belongs
   * to which statement, so every unfinished build/validation job is awaited.
   */
  async awaitUnfinishedJobs(tag: string, index: number, statement: string): Promise<void> {
    for (const jobId of await unfinishedJobs(this.session)) {
      this.emit({ type: 'job', tag, step: index, jobId });
      await this.awaitJob(jobId, statement);
    }
  }

  async apply(migration: MigrationToApply, result: MigrationResult): Promise<void> {
    const { createdAt, tag, hash, steps } = migration;
    const names = this.options.names;
    const row = await this.underLease((tx) => registerMigration(tx, names, { createdAt, hash, tag, steps: steps.length }));
    if (row.finished) return;
    if (row.hash !== hash || row.steps !== steps.length) {
      throw new DsqlConfigError(
        `migration ${tag}`,
        `a file whose content changed after ${row.done} of its statements were applied`,
        `the file as it was when it started (hash ${row.hash.slice(0, 12)}…); restore it, or finish the migration by hand and record it`,
      );
    }
    this.emit({ type: 'migration-start', tag, steps: steps.length, resumeAt: row.done + 1 });
    for (let i = row.done + 1; i <= steps.length; i++) {
      const step = steps[i - 1]!;
      const uncertain = row.started >= i;
      if (!uncertain) await this.underLease((tx) => recordProgress(tx, names, createdAt, { started: i }));
      this.emit({ type: 'statement', tag, step: i, steps: steps.length, sql: step.sql });
      try {
        await this.runStep(step, tag, i);
        result.statements++;
      } catch (err) {
        const sqlstate = sqlstateOf(err);
        if (!uncertain || sqlstate === undefined || !ALREADY_APPLIED.has(sqlstate)) throw err;
        // The interrupted run got this far: its effect is there already.
        this.emit({ type: 'statement-assumed-applied', tag, step: i, sql: step.sql, sqlstate });
        if (step.job) await this.awaitUnfinishedJobs(tag, i, step.sql);
      }
      await this.underLease((tx) => recordProgress(tx, names, createdAt, { done: i, finished: i === steps.length }));
    }
    if (steps.length === 0) await this.underLease((tx) => recordProgress(tx, names, createdAt, { done: 0, finished: true }));
    result.applied.push(tag);
    this.emit({ type: 'migration-done', tag });
  }
}

/**
 * Applies the migrations not yet finished, in the order given: creates the tracking tables if
 * missing, takes the lease (waiting for another run), runs each pending statement in its own
 * transaction with its progress recorded before and after (an interrupted run resumes at the
 * statement it stopped at; the one statement whose outcome is unknown is run again, and an
 * "already exists" / "does not exist" answer to it counts as applied), awaits the job of each
 * `job` step, and gives the lease back. Applying again is a no-op. A caller that checks
 * migrations first reads {@link readTracking} before it calls this.
 *
 * @example
 * const run = resolveMigrationRun(options, { caller: 'migrate()', migrationsSchema: 'ops', migrationsTable: 'history' });
 * const { applied } = await applyMigrations(session, [{ createdAt: 1, tag: '0001_init', hash, steps: [{ sql: 'CREATE TABLE t (id uuid PRIMARY KEY)', job: false }] }], run);
 */
export async function applyMigrations(
  session: MigrationSession,
  migrations: readonly MigrationToApply[],
  options: ResolvedMigrationRun,
): Promise<MigrationResult> {
  const run = new Run(session, options);
  const result: MigrationResult = { applied: [], statements: 0 };
  await run.ensureTables();
  try {
    // Inside the try: a lock row whose COMMIT answer was lost may be ours, and must not be
    // left to expire (the next run would wait out its lease). Releasing deletes our row only.
    await run.acquire();
    const tracked = await withRetry(() => readRows(session, options.names), { ...options.retry, retryOn: isOccError });
    for (const migration of migrations) {
      if (!tracked.get(migration.createdAt)?.finished) await run.apply(migration, result);
    }
  } finally {
    await run.lease.release(session).catch(() => undefined);
  }
  return result;
}
