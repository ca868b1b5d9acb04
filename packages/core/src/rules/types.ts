/**
 * DSQL's data types as data: which PostgreSQL built-in types a column may have, which exist only
 * while a query runs, and which DSQL does not have at all. Names are PostgreSQL's internal ones
 * (what a parser produces for `int`, `varchar(20)`, `timestamp with time zone`, …).
 */
import type { RuleCertainty, RuleSource } from './sources.js';

/**
 * `column`: a table column may have it. `runtime`: only a value during a query (casts, function
 * results, catalog queries), never a column. `unsupported`: neither.
 */
export type TypeSupport = 'column' | 'runtime' | 'unsupported';

/** One built-in type in the catalogue. */
export interface TypeRule {
  /** PostgreSQL's internal name (`int4`, `timestamptz`). */
  readonly name: string;
  /** How PostgreSQL's `format_type` prints it, which is how DSQL names it in refusals. */
  readonly display: string;
  readonly support: TypeSupport;
  readonly source: RuleSource;
  readonly certainty: RuleCertainty;
}

const t = (name: string, display: string, support: TypeSupport, source: RuleSource, certainty: RuleCertainty): TypeRule =>
  Object.freeze({ name, display, support, source, certainty });

const col = (name: string, display = name) => t(name, display, 'column', 'dataTypes', 'documented');
const runtime = (name: string, display = name, certainty: RuleCertainty = 'inferred') =>
  t(name, display, 'runtime', 'dataTypes', certainty);
const refused = (name: string, display = name, certainty: RuleCertainty = 'documented') =>
  t(name, display, 'unsupported', certainty === 'recorded' ? 'recordings' : 'dataTypes', certainty);

/**
 * Every built-in type the rules know. Column types are the user guide's lists (numeric,
 * character, date/time, miscellaneous; `jsonb` stored since June 2026); runtime types are its
 * "query runtime data types" (arrays, `inet`, recorded as working in SELECT) and the catalog's
 * own types that introspection queries cast to (`oid`, `regclass`, `name`, …); everything else
 * DSQL does not have.
 */
export const DSQL_TYPES: readonly TypeRule[] = Object.freeze([
  // Numeric data types
  col('int2', 'smallint'),
  col('int4', 'integer'),
  col('int8', 'bigint'),
  col('float4', 'real'),
  col('float8', 'double precision'),
  col('numeric'),
  // Character data types
  col('bpchar', 'character'),
  col('varchar', 'character varying'),
  col('text'),
  // Date and time data types
  col('date'),
  col('time', 'time without time zone'),
  col('timetz', 'time with time zone'),
  col('timestamp', 'timestamp without time zone'),
  col('timestamptz', 'timestamp with time zone'),
  col('interval'),
  // Miscellaneous data types
  col('bool', 'boolean'),
  col('bytea'),
  col('uuid'),
  col('json'),
  t('jsonb', 'jsonb', 'column', 'releaseNotes', 'documented'),
  // Query runtime data types, and the system catalog's types
  runtime('inet', 'inet', 'recorded'),
  ...['oid', 'regclass', 'regproc', 'regprocedure', 'regoper', 'regoperator', 'regtype', 'regnamespace', 'regrole',
    'regcollation', 'regconfig', 'regdictionary', 'name', 'xid', 'xid8', 'cid', 'tid', 'int2vector', 'oidvector',
    'aclitem', 'pg_node_tree', 'refcursor', 'record', 'void', 'unknown', 'cstring'].map((n) => runtime(n)),
  runtime('char', '"char"'),
  // Not in DSQL (recorded as column types; documented by their absence from every list)
  ...['money', 'xml', 'cidr', 'macaddr', 'point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle', 'tsvector',
    'tsquery', 'int4range', 'tsrange', 'pg_lsn'].map((n) => refused(n, n, 'recorded')),
  refused('bit', 'bit', 'recorded'),
  refused('varbit', 'bit varying', 'recorded'),
  ...['macaddr8', 'jsonpath', 'pg_snapshot', 'txid_snapshot', 'int8range', 'numrange', 'tstzrange', 'daterange',
    'int4multirange', 'int8multirange', 'nummultirange', 'tsmultirange', 'tstzmultirange', 'datemultirange',
    'gtsvector'].map((n) => refused(n)),
]);

const BY_NAME: ReadonlyMap<string, TypeRule> = new Map(DSQL_TYPES.map((rule) => [rule.name, rule]));

/**
 * The catalogue entry of a built-in type by its internal name, if the catalogue knows it.
 *
 * @example
 * typeRule('int4')?.display; // 'integer'
 * typeRule('money')?.support; // 'unsupported'
 */
export function typeRule(name: string): TypeRule | undefined {
  return BY_NAME.get(name);
}

/**
 * The `serial` pseudo-types: DSQL has none, so it answers PostgreSQL's 42704
 * `type "serial" does not exist` (recorded).
 */
export const SERIAL_TYPES: ReadonlySet<string> = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);

/**
 * The only type an identity column or a sequence may have (user guide: identity columns and
 * sequences are `bigint`; the recordings refuse `integer` and `smallint` identities).
 */
export const IDENTITY_TYPE = 'int8';

/** Smallest `CACHE` above 1 that DSQL accepts for a sequence or an identity column. */
export const MIN_SEQUENCE_CACHE = 65536;

/**
 * DSQL's CACHE rule for sequences and identity columns: `CACHE 1` or `CACHE >= 65536`, stated
 * explicitly (no CACHE at all is refused too).
 *
 * @example
 * sequenceCacheAllowed(1); // true
 * sequenceCacheAllowed(1000); // false
 * sequenceCacheAllowed(undefined); // false
 */
export function sequenceCacheAllowed(cache: number | undefined): boolean {
  return cache === 1 || (cache !== undefined && cache >= MIN_SEQUENCE_CACHE);
}
