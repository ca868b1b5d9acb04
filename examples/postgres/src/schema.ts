import type { Sql } from 'postgres';
import { bankSchemaStatements } from 'example-bank-workload';

/** The bank's tables, in this example's own schema (see `bankSchemaStatements`: one DDL per transaction). */
const statements = bankSchemaStatements('bank_postgresjs');

/**
 * Creates the schema: each statement in autocommit, i.e. its own transaction, as DSQL requires;
 * waits for the index job `CREATE INDEX ASYNC` answers.
 */
export async function createSchema(sql: Sql): Promise<number> {
  for (const statement of statements) {
    const [row] = await sql.unsafe<{ job_id?: string }[]>(statement);
    if (row?.job_id) await sql`CALL sys.wait_for_job(${row.job_id})`;
  }
  return statements.length;
}
