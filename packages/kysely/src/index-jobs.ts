import { redact } from '@dsql/core';
import type { SessionResult } from './session.js';

/**
 * Waiting for an asynchronous DSQL job (`CREATE INDEX ASYNC`, …) failed: the job itself failed
 * (e.g. duplicates under a unique index), or the connection was lost while waiting. The
 * statement that started the job — and the transaction around it — **had already committed**,
 * so `transaction()` never retries this error. `cause` holds the server or connection error.
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
 * DSQL job ids (`CREATE INDEX ASYNC`, `ALTER TABLE ASYNC … VALIDATE CONSTRAINT`): 26 characters
 * of lower-case base32. Checked before the id is written into a `CALL` as a literal.
 */
const JOB_ID = /^[a-z2-7]{26}$/;

/**
 * The job id a DDL statement answered, if it started an asynchronous job: one row with a
 * `job_id` column, from a `CREATE …` / `ALTER …` statement (so a `SELECT job_id FROM sys.jobs`
 * is never mistaken for one). Works for the query builder's `createIndex()` and for raw SQL.
 *
 * @example
 * jobIdOf({ command: 'CREATE', rows: [{ job_id: 'qfzv5uemkrg2lbczil2fim3o2q' }], rowCount: 1 }) // 'qfzv5uemkrg2lbczil2fim3o2q'
 */
export function jobIdOf(result: SessionResult): string | undefined {
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
