import type { Sql } from 'postgres';

/**
 * The bank's schema, one statement per transaction: Aurora DSQL runs at most one DDL statement
 * in a transaction, and never DDL together with DML. Every statement is idempotent, so the
 * set-up can run on every start. Each example keeps its tables in its own schema.
 */
const statements = [
  `CREATE SCHEMA IF NOT EXISTS bank_postgresjs`,
  `CREATE TABLE IF NOT EXISTS bank_postgresjs.accounts (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     owner text NOT NULL,
     balance bigint NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS bank_postgresjs.transfers (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     from_account uuid NOT NULL,
     to_account uuid NOT NULL,
     amount bigint NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  // DSQL builds indexes in the background: CREATE INDEX ASYNC answers a job id to wait for.
  `CREATE INDEX ASYNC IF NOT EXISTS transfers_from_account ON bank_postgresjs.transfers (from_account)`,
];

/** Creates the schema (each statement in autocommit, i.e. its own transaction). */
export async function createSchema(sql: Sql): Promise<number> {
  for (const statement of statements) {
    const [row] = await sql.unsafe<{ job_id?: string }[]>(statement);
    if (row?.job_id) await sql`CALL sys.wait_for_job(${row.job_id})`;
  }
  return statements.length;
}
