/**
 * DSQL's asynchronous jobs (`CREATE INDEX ASYNC`, `ALTER TABLE ASYNC … VALIDATE CONSTRAINT`),
 * emulated on the upstream PostgreSQL: the statement runs at once inside the client's
 * transaction, and a row in the emulator's private job table records it. The job id is 26
 * characters of lower-case base32 (a random UUID), like DSQL's.
 *
 * Like DSQL's, a job takes a moment: for `jobMs` after it was submitted, `sys.jobs` shows it
 * `processing` and its index cannot yet be adopted as a constraint (`55000 index "…" is not
 * valid`, checked by `alter-table-checks.ts`); then it is `completed`, or `failed` when the data
 * broke the index or constraint (DSQL accepts the statement and the build fails later).
 * `CALL sys.wait_for_job(id)` waits for the end of that moment and fails for a failed job.
 *
 * Where things live: clients see only `sys`, as on DSQL. The job table is in `pg_dsql_local`,
 * a schema no client role may use (USAGE revoked from PUBLIC) and whose `pg_` prefix — reserved
 * for system schemas, so creating it needs a superuser with `allow_system_table_mods` — makes
 * psql, Kysely's and drizzle-kit's introspection leave it out, as they leave out `pg_catalog`.
 * Clients reach it only through `sys` objects the superuser owns: the `sys.jobs` view, and
 * `SECURITY DEFINER` routines with a pinned `search_path` (`sys.wait_for_job`,
 * `sys.dsql_local_record_job`). The statement a job runs is run by `sys.dsql_local_run_job`
 * with the client's own rights.
 *
 * The helpers use PL/pgSQL on the upstream, which the emulator controls; clients still cannot
 * create PL/pgSQL functions themselves.
 */

/** The emulator's private schema on the upstream (see above). */
export const PRIVATE_SCHEMA = 'pg_dsql_local';

/** Job types as `sys.jobs.job_type` names them. */
export type JobType = 'INDEX_BUILD' | 'VALIDATE_CONSTRAINT';

/**
 * The upstream statement that runs `ddl` (already quoted as a literal) as a job and answers one
 * row with a `job_id` column.
 *
 * @example
 * jobStatementSql('INDEX_BUILD', "$q$CREATE INDEX i ON t (v)$q$");
 */
export function jobStatementSql(type: JobType, quotedDdl: string): string {
  return `SELECT sys.dsql_local_run_job('${type}', ${quotedDdl}) AS job_id`;
}

/**
 * Statements (each run on its own) that create `sys.jobs`, `sys.wait_for_job` and helpers;
 * `jobMs` is how long a job stays `processing`.
 *
 * @example
 * jobsBootstrapSql(250);
 */
export function jobsBootstrapSql(jobMs: number): string[] {
  const duration = `interval '${Math.max(0, Math.round(jobMs))} milliseconds'`;
  return [
    `CREATE SCHEMA IF NOT EXISTS sys`,
    `DO $do$ BEGIN
  PERFORM pg_catalog.set_config('allow_system_table_mods', 'on', true);
  CREATE SCHEMA IF NOT EXISTS ${PRIVATE_SCHEMA};
EXCEPTION WHEN insufficient_privilege THEN
  RAISE EXCEPTION 'dsql-local: the upstream user must be a superuser (the emulator keeps its async jobs in schema ${PRIVATE_SCHEMA})'
    USING ERRCODE = '42501';
END $do$`,
    `REVOKE ALL ON SCHEMA ${PRIVATE_SCHEMA} FROM PUBLIC`,
    // Earlier versions kept everything in a schema `dsql_local` visible to every role.
    `DO $do$ BEGIN
  IF pg_catalog.to_regprocedure('dsql_local.run_job(text,text)') IS NOT NULL THEN
    DROP SCHEMA dsql_local CASCADE;
  END IF;
END $do$`,
    `CREATE TABLE IF NOT EXISTS ${PRIVATE_SCHEMA}.jobs (
    job_id text PRIMARY KEY,
    status text NOT NULL,
    details text,
    job_type text NOT NULL,
    class_id oid,
    object_id oid,
    object_name text,
    start_time timestamptz NOT NULL,
    done_time timestamptz NOT NULL)`,
    // A view runs with its owner's (the superuser's) rights on the private table.
    `CREATE OR REPLACE VIEW sys.jobs AS
  SELECT job_id,
         CASE WHEN clock_timestamp() < done_time THEN 'processing' ELSE status END AS status,
         CASE WHEN clock_timestamp() < done_time THEN NULL ELSE details END AS details,
         job_type, class_id, object_id, object_name, start_time,
         CASE WHEN clock_timestamp() < done_time THEN start_time ELSE done_time END AS update_time
    FROM ${PRIVATE_SCHEMA}.jobs`,
    `CREATE OR REPLACE FUNCTION ${PRIVATE_SCHEMA}.new_job_id() RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  bytes bytea := decode(replace(gen_random_uuid()::text, '-', ''), 'hex');
  alphabet constant text := 'abcdefghijklmnopqrstuvwxyz234567';
  id text := '';
  buffer int := 0;
  bits int := 0;
BEGIN
  FOR i IN 0..15 LOOP
    buffer := (buffer << 8) | get_byte(bytes, i);
    bits := bits + 8;
    WHILE bits >= 5 LOOP
      id := id || substr(alphabet, ((buffer >> (bits - 5)) & 31) + 1, 1);
      bits := bits - 5;
    END LOOP;
    buffer := buffer & ((1 << bits) - 1);
  END LOOP;
  RETURN id || substr(alphabet, ((buffer << (5 - bits)) & 31) + 1, 1);
END $fn$`,
    `CREATE OR REPLACE FUNCTION sys.dsql_local_record_job(job_type text, status text, details text,
      class_id oid, object_id oid, object_name text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  job text := ${PRIVATE_SCHEMA}.new_job_id();
BEGIN
  INSERT INTO ${PRIVATE_SCHEMA}.jobs VALUES (job, status, details, job_type, class_id, object_id, object_name,
    statement_timestamp(), clock_timestamp() + ${duration});
  RETURN job;
END $fn$`,
    // Runs the client's statement with the client's rights (not SECURITY DEFINER).
    `CREATE OR REPLACE FUNCTION sys.dsql_local_run_job(job_type text, ddl text) RETURNS text
    LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  status text := 'completed';
  details text;
  object_id oid;
  object_name text;
BEGIN
  BEGIN
    EXECUTE ddl;
  EXCEPTION WHEN unique_violation OR check_violation OR foreign_key_violation OR not_null_violation THEN
    -- DSQL accepts the statement and the job fails later; wait_for_job reports it.
    status := 'failed';
    details := SQLERRM;
  END;
  IF job_type = 'INDEX_BUILD' AND status = 'completed' THEN
    SELECT c.oid, c.relname INTO object_id, object_name
      FROM pg_catalog.pg_class c WHERE c.relkind = 'i' ORDER BY c.oid DESC LIMIT 1;
  END IF;
  RETURN sys.dsql_local_record_job(job_type, status, details,
    CASE WHEN object_id IS NULL THEN NULL ELSE 'pg_catalog.pg_class'::regclass::oid END,
    object_id, object_name);
END $fn$`,
    `CREATE OR REPLACE PROCEDURE sys.wait_for_job(job text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  recorded ${PRIVATE_SCHEMA}.jobs%ROWTYPE;
BEGIN
  IF job IS NULL OR job !~ '^[a-z2-7]{26}$' THEN
    RAISE EXCEPTION 'Unable to convert text to UUID' USING ERRCODE = '22P02';
  END IF;
  SELECT * INTO recorded FROM ${PRIVATE_SCHEMA}.jobs j WHERE j.job_id = job;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % not found', job USING ERRCODE = '42704';
  END IF;
  PERFORM pg_sleep(GREATEST(0, extract(epoch FROM recorded.done_time - clock_timestamp())));
  IF recorded.status = 'failed' THEN
    RAISE EXCEPTION 'job % failed: %', job, recorded.details USING ERRCODE = 'XX000';
  END IF;
END $fn$`,
    // The client's rights and search_path resolve the index name; sys.jobs says whether it is built.
    `CREATE OR REPLACE FUNCTION sys.dsql_local_assert_index_built(index_name text) RETURNS void
    LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM sys.jobs j
              WHERE j.job_type = 'INDEX_BUILD' AND j.object_id = to_regclass(index_name)
                AND j.status = 'processing') THEN
    RAISE EXCEPTION 'index "%" is not valid', (SELECT relname FROM pg_catalog.pg_class WHERE oid = to_regclass(index_name))
      USING ERRCODE = '55000';
  END IF;
END $fn$`,
    `GRANT USAGE ON SCHEMA sys TO PUBLIC`,
    `GRANT SELECT ON sys.jobs TO PUBLIC`,
  ];
}
