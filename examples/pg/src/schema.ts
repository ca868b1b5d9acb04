import type { DsqlPool } from '@dsql/pg';

/**
 * The bank's schema, one statement per transaction: Aurora DSQL runs at most one DDL statement
 * in a transaction, and never DDL together with DML. Every statement is idempotent, so the
 * set-up can run on every start. Each example keeps its tables in its own schema.
 */
const statements = [
  `CREATE SCHEMA IF NOT EXISTS bank_pg`,
  `CREATE TABLE IF NOT EXISTS bank_pg.accounts (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     owner text NOT NULL,
     balance bigint NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS bank_pg.transfers (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     from_account uuid NOT NULL,
     to_account uuid NOT NULL,
     amount bigint NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  // DSQL builds indexes in the background: CREATE INDEX ASYNC answers a job id to wait for.
  `CREATE INDEX ASYNC IF NOT EXISTS transfers_from_account ON bank_pg.transfers (from_account)`,
];

/** Creates the schema (each statement in autocommit, i.e. its own transaction). */
export async function createSchema(pool: DsqlPool): Promise<number> {
  for (const sql of statements) {
    const result = await pool.query<{ job_id?: string }>(sql);
    const jobId = result.rows[0]?.job_id;
    if (jobId) await pool.query('CALL sys.wait_for_job($1)', [jobId]);
  }
  return statements.length;
}
