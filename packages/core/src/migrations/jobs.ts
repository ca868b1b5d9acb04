/**
 * DSQL's asynchronous jobs: `CREATE INDEX ASYNC` and `ALTER TABLE ASYNC … VALIDATE CONSTRAINT`
 * answer one row with a `job_id`; the job runs on after the statement's transaction committed,
 * is listed in `sys.jobs`, and is awaited with `CALL sys.wait_for_job('<id>')` or by polling.
 */
import { DsqlError } from '../errors/errors.js';
import { redact } from '../errors/redact.js';
import { sleep } from '../timers.js';
import type { MigrationSql, StatementResult } from './session.js';

/**
 * Waiting for an asynchronous DSQL job (`CREATE INDEX ASYNC`, …) failed: the job itself failed
 * (e.g. duplicates under a unique index), or the connection was lost while waiting. The
 * statement that started the job — and the transaction around it — **had already committed**,
 * so a transaction runner never retries this error. `cause` holds the server or connection error.
 *
 * @example
 * catch (err) { if (err instanceof DsqlJobError) console.error(`job ${err.jobId} failed`, err.cause); }
 */
export class DsqlJobError extends Error {
  override name = 'DsqlJobError';
  /** The DSQL job id (`sys.jobs.job_id`). */
  readonly jobId: string;
  /** Always true: the statement that started the job was committed before the wait. */
  readonly committed = true;

  constructor(jobId: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(redact(`DSQL job ${jobId} did not complete: ${reason}. The statement that started it was committed; check sys.jobs.`), { cause });
    this.jobId = jobId;
  }
}

/**
 * A job a migration waited for (index build, constraint validation) failed, was cancelled or
 * took too long ({@link awaitJob}).
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

/**
 * DSQL job ids: 26 characters of lower-case base32. Checked before an id is written into a
 * `CALL` as a literal.
 */
const JOB_ID = /^[a-z2-7]{26}$/;

/**
 * The job id a DDL statement answered, if it started an asynchronous job: one row with a
 * `job_id` column, from a `CREATE …` / `ALTER …` statement (so a `SELECT job_id FROM sys.jobs`
 * is never mistaken for one).
 *
 * @example
 * jobIdOf({ command: 'CREATE', rows: [{ job_id: 'qfzv5uemkrg2lbczil2fim3o2q' }] }) // 'qfzv5uemkrg2lbczil2fim3o2q'
 */
export function jobIdOf(result: StatementResult): string | undefined {
  const verb = result.command?.split(' ')[0]?.toUpperCase();
  if (verb !== 'CREATE' && verb !== 'ALTER') return undefined;
  if (result.rows.length !== 1) return undefined;
  const id = result.rows[0]!['job_id'];
  return typeof id === 'string' && JOB_ID.test(id) ? id : undefined;
}

/**
 * The statement that waits for a job. DSQL's `sys.wait_for_job` is a procedure that takes no
 * subquery, so the (validated) id is written as a literal.
 *
 * @example
 * waitForJobSql('qfzv5uemkrg2lbczil2fim3o2q') // "CALL sys.wait_for_job('qfzv5uemkrg2lbczil2fim3o2q')"
 */
export function waitForJobSql(jobId: string): string {
  if (!JOB_ID.test(jobId)) throw new TypeError(`Invalid DSQL job id: got ${JSON.stringify(jobId.slice(0, 40))}; expected 26 characters [a-z2-7].`);
  return `CALL sys.wait_for_job('${jobId}')`;
}

/** Options of {@link awaitJob}. */
export interface AwaitJobOptions {
  /** Give up (with `MigrationJobError`) after this long. */
  timeoutMs: number;
  /** The statement that started the job, for the error message. */
  statement: string;
  /** Called between two polls (e.g. to renew a lease); an error it throws ends the wait. */
  whileWaiting?: () => Promise<void>;
}

/**
 * Polls `sys.jobs` until the job completes (50 ms, doubling up to 1 s between looks). Unlike
 * `CALL sys.wait_for_job`, the wait is bounded and the caller can act meanwhile (`whileWaiting`).
 * Rejects with `MigrationJobError` when the job failed, was cancelled or outlived `timeoutMs`.
 *
 * @example
 * await awaitJob(session, jobId, { timeoutMs: 3_600_000, statement: 'CREATE INDEX ASYNC …' });
 */
export async function awaitJob(runner: MigrationSql, jobId: string, options: AwaitJobOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = 50;
  for (;;) {
    const { rows } = await runner.query('SELECT status, details FROM sys.jobs WHERE job_id = $1', [jobId]);
    const row = rows[0];
    const status = String(row?.['status'] ?? '').toLowerCase();
    if (status === 'completed') return;
    if (status === 'failed' || status === 'cancelled') {
      throw new MigrationJobError(
        jobId,
        `Job ${jobId} ${status} for: ${options.statement}${row?.['details'] ? ` — ${String(row['details'])}` : ''}. ` +
          'Fix the data or the statement, drop what the job left (e.g. the invalid index), and run the migration again.',
      );
    }
    if (Date.now() > deadline) {
      throw new MigrationJobError(jobId, `Job ${jobId} still ${status || 'not visible'} after ${Math.round(options.timeoutMs / 1000)} s: ${options.statement}`);
    }
    await options.whileWaiting?.();
    await sleep(delay);
    delay = Math.min(delay * 2, 1000);
  }
}

/**
 * Index builds and constraint validations still running (ANALYZE jobs aside). DSQL does not say
 * which job belongs to which statement, so a resumed migration awaits all of these.
 *
 * @example
 * for (const id of await unfinishedJobs(session)) await awaitJob(session, id, { timeoutMs, statement });
 */
export async function unfinishedJobs(runner: MigrationSql): Promise<string[]> {
  const { rows } = await runner.query(`SELECT job_id FROM sys.jobs WHERE status IN ('submitted', 'processing') AND job_type <> 'ANALYZE'`);
  return rows.map((row) => String(row['job_id']));
}
