import type { DsqlPool } from '@dsql/pg';
import { bankSchemaStatements } from 'example-bank-workload';

/** The bank's tables, in this example's own schema (see `bankSchemaStatements`: one DDL per transaction). */
const statements = bankSchemaStatements('bank_pg');

/**
 * Creates the schema: each statement in autocommit, i.e. its own transaction, as DSQL requires;
 * waits for the index job `CREATE INDEX ASYNC` answers.
 */
export async function createSchema(pool: DsqlPool): Promise<number> {
  for (const sql of statements) {
    const result = await pool.query<{ job_id?: string }>(sql);
    const jobId = result.rows[0]?.job_id;
    if (jobId) await pool.query('CALL sys.wait_for_job($1)', [jobId]);
  }
  return statements.length;
}
