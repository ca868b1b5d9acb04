/**
 * DSQL's asynchronous jobs (`CREATE INDEX ASYNC`, `ALTER TABLE ASYNC … VALIDATE CONSTRAINT`),
 * emulated on the upstream PostgreSQL: the statement runs at once inside the client's
 * transaction, and a row in `dsql_local.jobs` records it. The job id is 26 characters of
 * lower-case base32 (a random UUID), like DSQL's.
 *
 * Like DSQL's, a job takes a moment: for `jobMs` after it was submitted, `sys.jobs` shows it
 * `processing` and its index cannot yet be adopted as a constraint (`55000 index "…" is not
 * valid`, checked by `alter-table-checks.ts`); then it is `completed`, or `failed` when the data
 * broke the index or constraint (DSQL accepts the statement and the build fails later).
 * `CALL sys.wait_for_job(id)` waits for the end of that moment and fails for a failed job.
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
    `CREATE SCHEMA IF NOT EXISTS dsql_local`,
    `CREATE TABLE IF NOT EXISTS dsql_local.jobs (
    job_id text PRIMARY KEY,
    status text NOT NULL,
    details text,
    job_type text NOT NULL,
    class_id oid,
    object_id oid,
    object_name text,
    start_time timestamptz NOT NULL,
    done_time timestamptz NOT NULL)`,
    `CREATE OR REPLACE VIEW sys.jobs AS
  SELECT job_id,
         CASE WHEN clock_timestamp() < done_time THEN 'processing' ELSE status END AS status,
         CASE WHEN clock_timestamp() < done_time THEN NULL ELSE details END AS details,
         job_type, class_id, object_id, object_name, start_time,
         CASE WHEN clock_timestamp() < done_time THEN start_time ELSE done_time END AS update_time
    FROM dsql_local.jobs`,
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
  INSERT INTO dsql_local.jobs VALUES (job, status, details, job_type, class_id, object_id, object_name,
    statement_timestamp(), clock_timestamp() + ${duration})
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
  IF job_type = 'INDEX_BUILD' AND status = 'completed' THEN
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
  recorded dsql_local.jobs%ROWTYPE;
BEGIN
  IF job IS NULL OR job !~ '^[a-z2-7]{26}$' THEN
    RAISE EXCEPTION 'Unable to convert text to UUID' USING ERRCODE = '22P02';
  END IF;
  SELECT * INTO recorded FROM dsql_local.jobs j WHERE j.job_id = job;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % not found', job USING ERRCODE = '42704';
  END IF;
  PERFORM pg_sleep(GREATEST(0, extract(epoch FROM recorded.done_time - clock_timestamp())));
  IF recorded.status = 'failed' THEN
    RAISE EXCEPTION 'job % failed: %', job, recorded.details USING ERRCODE = 'XX000';
  END IF;
END $fn$`,
    `CREATE OR REPLACE FUNCTION dsql_local.assert_index_built(index_name text) RETURNS void
    LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM dsql_local.jobs j
              WHERE j.job_type = 'INDEX_BUILD' AND j.object_id = to_regclass(index_name)
                AND clock_timestamp() < j.done_time) THEN
    RAISE EXCEPTION 'index "%" is not valid', (SELECT relname FROM pg_catalog.pg_class WHERE oid = to_regclass(index_name))
      USING ERRCODE = '55000';
  END IF;
END $fn$`,
    `GRANT USAGE ON SCHEMA sys, dsql_local TO PUBLIC`,
    `GRANT SELECT ON sys.jobs, dsql_local.jobs TO PUBLIC`,
  ];
}
