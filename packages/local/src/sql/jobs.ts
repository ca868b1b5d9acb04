/**
 * DSQL's asynchronous jobs (`CREATE INDEX ASYNC`, `ALTER TABLE ASYNC … VALIDATE CONSTRAINT`),
 * emulated on the upstream PostgreSQL: the statement runs at once inside the client's
 * transaction, and a row in `sys.jobs` records it as a completed job (or a failed one, when the
 * data breaks the index or constraint, as DSQL reports a build that fails later). The job id is
 * 26 characters of lower-case base32 (a random UUID), like DSQL's. `CALL sys.wait_for_job(id)`
 * returns once the job is done — at once here — and fails for a failed job.
 *
 * The helpers use PL/pgSQL on the upstream, which the emulator controls; clients still cannot
 * create PL/pgSQL functions themselves.
 */

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
  return `SELECT dsql_local.run_job('${type}', ${quotedDdl}) AS job_id`;
}

/** Statements (each run on its own) that create `sys.jobs`, `sys.wait_for_job` and helpers. */
export const jobsBootstrapSql: readonly string[] = [
  `CREATE SCHEMA IF NOT EXISTS sys`,
  `CREATE SCHEMA IF NOT EXISTS dsql_local`,
  `CREATE TABLE IF NOT EXISTS sys.jobs (
    job_id text PRIMARY KEY,
    status text NOT NULL,
    details text,
    job_type text NOT NULL,
    class_id oid,
    object_id oid,
    object_name text,
    start_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL)`,
  `CREATE OR REPLACE FUNCTION dsql_local.new_job_id() RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
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
  `CREATE OR REPLACE FUNCTION dsql_local.record_job(job text, job_type text, status text, details text,
      class_id oid, object_id oid, object_name text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  INSERT INTO sys.jobs VALUES (job, status, details, job_type, class_id, object_id, object_name,
    statement_timestamp(), clock_timestamp())
$fn$`,
  `CREATE OR REPLACE FUNCTION dsql_local.run_job(job_type text, ddl text) RETURNS text
    LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  job text := dsql_local.new_job_id();
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
  IF job_type = 'INDEX_BUILD' THEN
    SELECT c.oid, c.relname INTO object_id, object_name
      FROM pg_catalog.pg_class c WHERE c.relkind = 'i' ORDER BY c.oid DESC LIMIT 1;
  END IF;
  PERFORM dsql_local.record_job(job, job_type, status, details,
    CASE WHEN object_id IS NULL THEN NULL ELSE 'pg_catalog.pg_class'::regclass::oid END,
    object_id, object_name);
  RETURN job;
END $fn$`,
  `CREATE OR REPLACE PROCEDURE sys.wait_for_job(job text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  found_status text;
  found_details text;
BEGIN
  IF job IS NULL OR job !~ '^[a-z2-7]{26}$' THEN
    RAISE EXCEPTION 'Unable to convert text to UUID' USING ERRCODE = '22P02';
  END IF;
  SELECT j.status, j.details INTO found_status, found_details FROM sys.jobs j WHERE j.job_id = job;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % not found', job USING ERRCODE = '42704';
  END IF;
  IF found_status = 'failed' THEN
    RAISE EXCEPTION 'job % failed: %', job, found_details USING ERRCODE = 'XX000';
  END IF;
END $fn$`,
  `GRANT USAGE ON SCHEMA sys, dsql_local TO PUBLIC`,
  `GRANT SELECT ON sys.jobs TO PUBLIC`,
];
