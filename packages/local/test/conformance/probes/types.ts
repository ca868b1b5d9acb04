/**
 * Data types, from "Supported data types in Aurora DSQL": the documented column types are
 * accepted (aliases and precisions included); every other built-in is refused as a column with
 * `datatype <format_type name> not supported`, arrays too ("query runtime data types" exist only
 * while a query runs); serial types do not exist (42704). In expressions, runtime types (arrays,
 * inet, jsonb, catalog types) work; types DSQL has not at all are refused in casts too.
 */
import { accepted, DOC, refused, type ProbeCase } from './define.js';

const COLUMN_TYPES: Array<[string, string]> = [
  ['smallint', 'smallint'], ['integer', 'integer'], ['bigint', 'bigint'], ['int2', 'int2'], ['int8', 'int8'],
  ['real', 'real'], ['double', 'double precision'], ['float8', 'float8'], ['numeric', 'numeric'],
  ['numeric_ps', 'numeric(10, 2)'], ['numeric_1000', 'numeric(1000, 0)'], ['decimal', 'decimal(18, 6)'],
  ['char', 'char(10)'], ['character', 'character(4)'], ['varchar', 'varchar(255)'],
  ['character_varying', 'character varying'], ['bpchar', 'bpchar'], ['text', 'text'], ['date', 'date'],
  ['time', 'time'], ['time_p', 'time(3) without time zone'], ['timetz', 'time with time zone'],
  ['timestamp', 'timestamp'], ['timestamptz', 'timestamp with time zone'], ['interval', 'interval'],
  ['boolean', 'boolean'], ['bool', 'bool'], ['bytea', 'bytea'], ['uuid', 'uuid'], ['json', 'json'], ['jsonb', 'jsonb'],
];

const NOT_COLUMN_TYPES: Array<[string, string, string]> = [
  // [probe name, type as written, type as DSQL names it]
  ['money', 'money', 'money'], ['xml', 'xml', 'xml'], ['inet', 'inet', 'inet'], ['cidr', 'cidr', 'cidr'],
  ['macaddr', 'macaddr', 'macaddr'], ['macaddr8', 'macaddr8', 'macaddr8'], ['point', 'point', 'point'],
  ['line', 'line', 'line'], ['lseg', 'lseg', 'lseg'], ['box', 'box', 'box'], ['path', 'path', 'path'],
  ['polygon', 'polygon', 'polygon'], ['circle', 'circle', 'circle'], ['tsvector', 'tsvector', 'tsvector'],
  ['tsquery', 'tsquery', 'tsquery'], ['jsonpath', 'jsonpath', 'jsonpath'], ['pg_lsn', 'pg_lsn', 'pg_lsn'],
  ['pg_snapshot', 'pg_snapshot', 'pg_snapshot'], ['txid_snapshot', 'txid_snapshot', 'txid_snapshot'],
  ['bit', 'bit(8)', 'bit'], ['bit_varying', 'bit varying(8)', 'bit varying'], ['int4range', 'int4range', 'int4range'],
  ['int8range', 'int8range', 'int8range'], ['numrange', 'numrange', 'numrange'], ['tsrange', 'tsrange', 'tsrange'],
  ['tstzrange', 'tstzrange', 'tstzrange'], ['daterange', 'daterange', 'daterange'],
  ['int4multirange', 'int4multirange', 'int4multirange'], ['datemultirange', 'datemultirange', 'datemultirange'],
  ['oid', 'oid', 'oid'], ['regclass', 'regclass', 'regclass'], ['name', 'name', 'name'], ['internal_char', '"char"', '"char"'],
  ['xid', 'xid', 'xid'], ['tid', 'tid', 'tid'],
  ['int_array', 'int[]', 'integer[]'], ['bigint_array', 'bigint[]', 'bigint[]'], ['uuid_array', 'uuid[]', 'uuid[]'],
  ['jsonb_array', 'jsonb[]', 'jsonb[]'], ['varchar_array', 'varchar(10)[]', 'character varying[]'],
  ['int_array_2d', 'integer[][]', 'integer[]'], ['timestamptz_array', 'timestamptz ARRAY', 'timestamp with time zone[]'],
];

const SERIALS = ['serial', 'bigserial', 'smallserial', 'serial4', 'serial8'];

const RUNTIME_CASTS: Array<[string, string]> = [
  ['inet', "SELECT '10.0.0.1'::inet"], ['int_array', 'SELECT ARRAY[1, 2, 3]::int[]'],
  ['text_array', "SELECT string_to_array('a,b', ',')"], ['jsonb', `SELECT '{"a": 1}'::jsonb -> 'a'`],
  ['json', `SELECT '[1, 2]'::json`], ['regclass', "SELECT 'probe_t'::regclass"], ['oid', 'SELECT 1::oid'],
  ['name', "SELECT 'x'::name"], ['interval', "SELECT interval '1 day' + date '2026-01-01'"],
  ['numeric', 'SELECT CAST(1.5 AS numeric(5, 2))'], ['uuid', 'SELECT gen_random_uuid()::text'],
  ['timestamptz', "SELECT '2026-01-01 00:00:00+00'::timestamptz"], ['bytea', "SELECT '\\x00ff'::bytea"],
];

const REFUSED_CASTS: Array<[string, string, string]> = [
  ['money', "SELECT '1.50'::money", 'money'], ['xml', "SELECT '<a/>'::xml", 'xml'],
  ['point', "SELECT '(1,2)'::point", 'point'], ['typed_point', "SELECT point '(1,2)'", 'point'],
  ['tsvector', "SELECT 'a b'::tsvector", 'tsvector'], ['tsquery', "SELECT 'a & b'::tsquery", 'tsquery'],
  ['int4range', "SELECT '[1,5)'::int4range", 'int4range'], ['daterange', "SELECT '[2026-01-01,2026-02-01)'::daterange", 'daterange'],
  ['macaddr', "SELECT '08:00:2b:01:02:03'::macaddr", 'macaddr'], ['cidr', "SELECT '10.0.0.0/8'::cidr", 'cidr'],
  ['jsonpath', "SELECT '$.a'::jsonpath", 'jsonpath'], ['bit', "SELECT B'101'::bit(3)", 'bit'],
  ['cast_syntax', "SELECT CAST('1' AS money)", 'money'], ['in_where', "SELECT 1 FROM probe_t WHERE v::xml IS NULL", 'xml'],
  ['pg_lsn', "SELECT '0/16B3748'::pg_lsn", 'pg_lsn'],
];

/** The data type probes. */
export const typeProbes: ProbeCase[] = [
  ...COLUMN_TYPES.map(([name, type]) =>
    accepted(`column_${name}`, `CREATE TABLE probe_col_${name} (v ${type})`, 'CREATE TABLE', DOC.types),
  ),
  ...NOT_COLUMN_TYPES.map(([name, type, display]) =>
    refused(`column_${name}`, `CREATE TABLE probe_col_no_${name} (v ${type})`, `datatype ${display} not supported`, DOC.types),
  ),
  refused('add_column_inet', 'ALTER TABLE probe_t ADD COLUMN addr inet', 'datatype inet not supported', DOC.types),
  refused('add_column_array', 'ALTER TABLE probe_t ADD COLUMN tags text[]', 'datatype text[] not supported', DOC.types),
  accepted('add_column_jsonb', 'ALTER TABLE probe_alter_add ADD COLUMN doc jsonb', 'ALTER TABLE', DOC.releases),
  ...SERIALS.map((s) =>
    refused(`column_${s}`, `CREATE TABLE probe_col_${s} (id ${s})`, `type "${s}" does not exist`, DOC.types, '42704'),
  ),
  ...RUNTIME_CASTS.map(([name, sql]) => accepted(`runtime_${name}`, sql, 'SELECT 1', DOC.types)),
  ...REFUSED_CASTS.map(([name, sql, type]) => refused(`cast_${name}`, sql, `datatype ${type} not supported`, DOC.types)),
  refused('domain_money', 'CREATE DOMAIN probe_money AS money', 'datatype money not supported', DOC.types),
  accepted('domain_int', 'CREATE DOMAIN probe_positive AS int CHECK (VALUE > 0)', 'CREATE DOMAIN', DOC.sql),
  refused('function_returns_tsvector', "CREATE FUNCTION probe_tsv() RETURNS tsvector LANGUAGE sql AS $$ SELECT NULL::tsvector $$",
    'datatype tsvector not supported', DOC.types),
];
