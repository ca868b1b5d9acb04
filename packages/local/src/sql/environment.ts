/**
 * What DSQL reports about itself, set up once on the upstream PostgreSQL: time zone UTC,
 * repeatable read as the only isolation level, and its own server version from `version()`
 * and `current_setting('server_version'|'server_version_num')`. (`SHOW server_version` is
 * rewritten per statement by the analyzer.)
 *
 * `server_version` is fixed when PostgreSQL is built, so the functions that read it are
 * replaced in `pg_catalog` by SQL functions PostgreSQL inlines into every query. That needs a
 * superuser (the embedded upstream is one); without one, the step is skipped with a NOTICE.
 */
import { serverVersionNum } from './analyze.js';

/**
 * Statements (each run on its own) that make the upstream answer like DSQL.
 *
 * @example
 * environmentBootstrapSql('16.15');
 */
export function environmentBootstrapSql(serverVersion: string): string[] {
  const num = serverVersionNum(serverVersion);
  const versionText = `PostgreSQL ${serverVersion} (Aurora DSQL emulated by @dsql/local)`;
  const overrides = (showFn: string) => `CASE lower($1)
      WHEN 'server_version' THEN '${serverVersion}'
      WHEN 'server_version_num' THEN '${num}'
      ELSE ${showFn} END`;
  return [
    `DO $do$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET TimeZone = %L', current_database(), 'UTC');
  EXECUTE format('ALTER DATABASE %I SET default_transaction_isolation = %L', current_database(), 'repeatable read');
END $do$`,
    `DO $do$ BEGIN
  CREATE OR REPLACE FUNCTION pg_catalog.dsql_local_show_setting(text) RETURNS text
    LANGUAGE internal STABLE STRICT PARALLEL SAFE AS 'show_config_by_name';
  CREATE OR REPLACE FUNCTION pg_catalog.dsql_local_show_setting(text, boolean) RETURNS text
    LANGUAGE internal STABLE STRICT PARALLEL SAFE AS 'show_config_by_name_missing_ok';
  -- Not STRICT, a single expression: PostgreSQL inlines these, so the replacement is what runs.
  CREATE OR REPLACE FUNCTION pg_catalog.version() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $fn$ SELECT '${versionText}'::text $fn$;
  CREATE OR REPLACE FUNCTION pg_catalog.current_setting(text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $fn$ SELECT ${overrides('pg_catalog.dsql_local_show_setting($1)')} $fn$;
  CREATE OR REPLACE FUNCTION pg_catalog.current_setting(text, boolean) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $fn$ SELECT ${overrides('pg_catalog.dsql_local_show_setting($1, $2)')} $fn$;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'dsql-local: not a superuser, version() and current_setting(''server_version'') report PostgreSQL''s own';
END $do$`,
  ];
}
