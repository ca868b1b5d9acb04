/**
 * Functions: families that exist only for features DSQL does not have are refused
 * (`function <name> not supported`, the text reported for `pg_advisory_lock`), next to everyday
 * functions it has. DSQL runs users' own `LANGUAGE sql` functions ("Supported SQL for Aurora
 * DSQL": CREATE FUNCTION … LANGUAGE SQL), so only `pg_`-prefixed names are refused bare; the
 * families named with ordinary words (geometric, text search, XML, ranges, large objects) only
 * when the call names `pg_catalog`, and a user's function of such a name runs.
 */
import { accepted, DOC, refused, type ProbeCase } from './define.js';

/** Creating a `LANGUAGE sql` function, then calling it. */
function userFunction(name: string, create: string, call: string): ProbeCase {
  return {
    name: `user_function_${name}`,
    group: 'probe',
    steps: [create, call],
    observations: [{ outcome: 'ok', command_tag: 'CREATE FUNCTION' }, { outcome: 'ok', command_tag: 'SELECT 1' }],
    ignore_rows: true,
    source: DOC.sql,
  };
}

const REFUSED: Array<[string, string, string, string]> = [
  // [probe, SQL, function named in the refusal, source]
  ['advisory_lock', 'SELECT pg_advisory_lock(1)', 'pg_advisory_lock', DOC.concurrency],
  ['try_advisory_lock', 'SELECT pg_try_advisory_lock(1)', 'pg_try_advisory_lock', DOC.concurrency],
  ['advisory_xact_lock', 'SELECT pg_advisory_xact_lock(1)', 'pg_advisory_xact_lock', DOC.concurrency],
  ['advisory_lock_shared', 'SELECT pg_advisory_lock_shared(1)', 'pg_advisory_lock_shared', DOC.concurrency],
  ['advisory_unlock', 'SELECT pg_advisory_unlock(1)', 'pg_advisory_unlock', DOC.concurrency],
  ['advisory_unlock_all', 'SELECT pg_advisory_unlock_all()', 'pg_advisory_unlock_all', DOC.concurrency],
  ['advisory_qualified', 'SELECT pg_catalog.pg_advisory_lock(1, 2)', 'pg_advisory_lock', DOC.concurrency],
  ['advisory_in_where', 'SELECT 1 WHERE pg_try_advisory_xact_lock(7)', 'pg_try_advisory_xact_lock', DOC.concurrency],
  ['pg_notify', "SELECT pg_notify('probe', 'x')", 'pg_notify', DOC.unsupported],
  // Named with ordinary words: refused as pg_catalog's (the types they work on are not in
  // "Supported data types"); a bare name may be the user's own function.
  ['to_tsvector', "SELECT pg_catalog.to_tsvector('simple', 'a b')", 'to_tsvector', DOC.types],
  ['to_tsquery', "SELECT pg_catalog.to_tsquery('a')", 'to_tsquery', DOC.types],
  ['plainto_tsquery', "SELECT pg_catalog.plainto_tsquery('a b')", 'plainto_tsquery', DOC.types],
  ['websearch_to_tsquery', "SELECT pg_catalog.websearch_to_tsquery('a or b')", 'websearch_to_tsquery', DOC.types],
  ['ts_headline', "SELECT pg_catalog.ts_headline('a b', 'a')", 'ts_headline', DOC.types],
  ['xpath', "SELECT pg_catalog.xpath('/a', '<a/>')", 'xpath', DOC.types],
  ['table_to_xml', "SELECT pg_catalog.table_to_xml('probe_t', true, false, '')", 'table_to_xml', DOC.types],
  ['point_fn', 'SELECT pg_catalog.point(1, 2)', 'point', DOC.types],
  ['area_fn', "SELECT pg_catalog.area('((0,0),(1,1))')", 'area', DOC.types],
  ['int4range_fn', 'SELECT pg_catalog.int4range(1, 10)', 'int4range', DOC.types],
  ['daterange_fn', "SELECT pg_catalog.daterange('2026-01-01', '2026-02-01')", 'daterange', DOC.types],
  ['numrange_fn', 'SELECT pg_catalog.numrange(1.0, 2.0)', 'numrange', DOC.types],
  ['pg_terminate_backend', 'SELECT pg_terminate_backend(1)', 'pg_terminate_backend', DOC.unsupported],
  ['pg_cancel_backend', 'SELECT pg_cancel_backend(1)', 'pg_cancel_backend', DOC.unsupported],
  ['pg_reload_conf', 'SELECT pg_reload_conf()', 'pg_reload_conf', DOC.unsupported],
  ['pg_read_file', "SELECT pg_read_file('postgresql.conf')", 'pg_read_file', DOC.unsupported],
  ['pg_ls_dir', "SELECT pg_ls_dir('.')", 'pg_ls_dir', DOC.unsupported],
  ['pg_switch_wal', 'SELECT pg_switch_wal()', 'pg_switch_wal', DOC.unsupported],
  ['lo_create', 'SELECT pg_catalog.lo_create(0)', 'lo_create', DOC.types],
  ['lo_import', "SELECT pg_catalog.lo_import('/etc/hostname')", 'lo_import', DOC.types],
  ['in_view', 'CREATE VIEW probe_fts AS SELECT pg_catalog.to_tsvector(v) AS d FROM probe_t', 'to_tsvector', DOC.types],
  ['in_default', "CREATE TABLE probe_default_fn (id bigint, n bigint DEFAULT pg_advisory_lock(1)::text::bigint)",
    'pg_advisory_lock', DOC.concurrency],
];

const ACCEPTED: Array<[string, string]> = [
  ['now', 'SELECT now()'], ['gen_random_uuid', 'SELECT gen_random_uuid()'], ['lower', "SELECT lower('A')"],
  ['jsonb_build_object', "SELECT jsonb_build_object('a', 1)"], ['jsonb_arrow', `SELECT '{"a": 1}'::jsonb ->> 'a'`],
  ['jsonb_contains', `SELECT '{"a": 1}'::jsonb @> '{"a": 1}'`], ['date_trunc', "SELECT date_trunc('day', now())"],
  ['extract', 'SELECT extract(year FROM now())'], ['regexp_replace', "SELECT regexp_replace('abc', 'b', 'x')"],
  ['md5', "SELECT md5('a')"], ['coalesce', 'SELECT coalesce(NULL, 1)'], ['string_agg', "SELECT string_agg(x, ',') FROM (VALUES ('a'), ('b')) v(x)"],
  ['row_number', 'SELECT row_number() OVER () FROM (VALUES (1)) v(x)'],
  ['set_config_app', "SELECT set_config('application_name', 'probe', false)"],
  ['current_setting', "SELECT current_setting('TimeZone')"], ['version', 'SELECT version()'],
  ['encode', "SELECT encode('\\x01'::bytea, 'hex')"], ['uuid_in_function', 'SELECT upper(gen_random_uuid()::text)'],
];

/** The function probes. */
export const functionProbes: ProbeCase[] = [
  ...REFUSED.map(([name, sql, fn, source]) => refused(`function_${name}`, sql, `function ${fn} not supported`, source)),
  refused('set_config_isolation', "SELECT set_config('transaction_isolation', 'serializable', false)",
    'setting configuration parameter "transaction_isolation" not supported', DOC.unsupported),
  refused('set_config_default_isolation', "SELECT set_config('default_transaction_isolation', 'read committed', false)",
    'setting configuration parameter "default_transaction_isolation" not supported', DOC.unsupported),
  refused('xmlparse', "SELECT xmlparse(document '<a/>')", 'datatype xml not supported', DOC.types),
  refused('xmlelement', 'SELECT xmlelement(name a)', 'datatype xml not supported', DOC.types),
  ...ACCEPTED.map(([name, sql]) => accepted(`function_ok_${name}`, sql, 'SELECT 1', DOC.sql)),
  // A user's own LANGUAGE sql function named like a built-in family DSQL lacks runs.
  userFunction('area', 'CREATE FUNCTION area(n numeric) RETURNS numeric LANGUAGE sql AS $$ SELECT n * n $$', 'SELECT area(2.0)'),
  userFunction('strip', 'CREATE FUNCTION strip(t text) RETURNS text LANGUAGE sql AS $$ SELECT btrim(t) $$',
    "SELECT strip(' a '::text)"),
  userFunction('center', 'CREATE FUNCTION public.center(a int, b int) RETURNS int LANGUAGE sql AS $$ SELECT (a + b) / 2 $$',
    'SELECT public.center(1, 3)'),
];
