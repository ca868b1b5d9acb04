/**
 * Which column types DSQL stores. Runtime-only types (arrays, inet, …) are fine in queries and
 * casts; only columns are checked. Unknown names (domains, missing types) are left to
 * PostgreSQL, which accepts a domain and answers 42704 for a type that does not exist — as DSQL.
 */
import type { SqlError } from './hook.js';
import { dsqlErrors } from './messages.js';

/** A `TypeName` node as libpg-query returns it (the fields these rules read). */
export interface TypeNameNode {
  names?: Array<{ String?: { sval?: string } }>;
  arrayBounds?: unknown[];
  setof?: boolean;
}

/** PostgreSQL's `format_type` names for the internal names the parser produces. */
const DISPLAY_NAME: Record<string, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
  bpchar: 'character',
  varchar: 'character varying',
  varbit: 'bit varying',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  time: 'time without time zone',
  timetz: 'time with time zone',
  decimal: 'numeric',
};

/** Built-in types DSQL refuses as column types (documented and recorded). */
const UNSUPPORTED = new Set([
  'money', 'xml', 'inet', 'cidr', 'macaddr', 'macaddr8',
  'point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle',
  'tsvector', 'tsquery', 'jsonpath', 'pg_lsn', 'pg_snapshot', 'txid_snapshot',
  'bit', 'varbit',
  'int4range', 'int8range', 'numrange', 'tsrange', 'tstzrange', 'daterange',
  'int4multirange', 'int8multirange', 'nummultirange', 'tsmultirange', 'tstzmultirange',
  'datemultirange',
]);

/** The `serial` pseudo-types, which DSQL does not have. */
const SERIAL = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);

/** The type's own name and whether it is a built-in (unqualified or `pg_catalog.`). */
function typeIdentity(type: TypeNameNode): { name: string; builtin: boolean } {
  const names = (type.names ?? []).map((n) => n.String?.sval ?? '');
  const name = names[names.length - 1] ?? '';
  const builtin = names.length === 1 || (names.length === 2 && names[0] === 'pg_catalog');
  return { name, builtin };
}

/**
 * The type as PostgreSQL's `format_type` prints it without modifiers (`int4[]` → `integer[]`),
 * which is how DSQL names it in refusals.
 *
 * @example
 * formatTypeName({ names: [{ String: { sval: 'varbit' } }] }); // 'bit varying'
 */
export function formatTypeName(type: TypeNameNode): string {
  const { name, builtin } = typeIdentity(type);
  const base = (builtin && DISPLAY_NAME[name]) || name;
  return type.arrayBounds?.length ? `${base}[]` : base;
}

/**
 * The refusal for a column of this type, or `undefined` when DSQL accepts it.
 *
 * @example
 * columnTypeRefusal({ names: [{ String: { sval: 'money' } }] });
 * // → { code: '0A000', message: 'datatype money not supported' }
 */
export function columnTypeRefusal(type: TypeNameNode): SqlError | undefined {
  const { name, builtin } = typeIdentity(type);
  if (builtin && SERIAL.has(name) && !type.arrayBounds?.length) return dsqlErrors.typeDoesNotExist(name);
  if (type.arrayBounds?.length) return dsqlErrors.datatype(formatTypeName(type));
  if (builtin && UNSUPPORTED.has(name)) return dsqlErrors.datatype(formatTypeName(type));
  return undefined;
}

/** True for `bigint` / `int8`, the only type DSQL allows for identity columns. */
export function isBigint(type: TypeNameNode): boolean {
  const { name, builtin } = typeIdentity(type);
  return builtin && name === 'int8' && !type.arrayBounds?.length;
}
