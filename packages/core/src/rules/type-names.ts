/**
 * Applying the type catalogue to a type as a statement names it: `int4`, `pg_catalog.varchar`,
 * `text[]`, a domain. Input is the name parts and whether it is an array, as any PostgreSQL
 * parser gives them (libpg-query's `TypeName.names` / `arrayBounds`), so no parser is needed here.
 */
import { dsqlRefusals, type DsqlRefusal } from './messages.js';
import { IDENTITY_TYPE, SERIAL_TYPES, typeRule } from './types.js';

/** A type as a statement names it. */
export interface NamedType {
  /** The name's parts, as written or as the parser expanded them (`['pg_catalog', 'int4']`). */
  readonly names: readonly string[];
  /** `text[]`, `int[][]`. */
  readonly array?: boolean;
}

/** The type's own name and whether it names a built-in (unqualified or `pg_catalog.`). */
function identity(type: NamedType): { name: string; builtin: boolean } {
  const name = type.names[type.names.length - 1] ?? '';
  const builtin = type.names.length === 1 || (type.names.length === 2 && type.names[0] === 'pg_catalog');
  return { name, builtin };
}

/**
 * The type as PostgreSQL's `format_type` prints it without modifiers (`int4[]` → `integer[]`),
 * which is how DSQL names it in refusals.
 *
 * @example
 * displayTypeName({ names: ['pg_catalog', 'varbit'] }); // 'bit varying'
 * displayTypeName({ names: ['int4'], array: true }); // 'integer[]'
 */
export function displayTypeName(type: NamedType): string {
  const { name, builtin } = identity(type);
  const base = (builtin && typeRule(name)?.display) || (builtin && name === 'decimal' ? 'numeric' : name);
  return type.array ? `${base}[]` : base;
}

/**
 * DSQL's refusal for a table column of this type, or `undefined` when DSQL stores it: only the
 * user guide's column types, never an array; `serial` does not exist (42704). Names the catalogue
 * does not know (domains, types that do not exist) are left to the server.
 *
 * @example
 * columnTypeRefusal({ names: ['money'] }); // { code: '0A000', message: 'datatype money not supported' }
 * columnTypeRefusal({ names: ['pg_catalog', 'int8'] }); // undefined
 */
export function columnTypeRefusal(type: NamedType): DsqlRefusal | undefined {
  const { name, builtin } = identity(type);
  if (builtin && SERIAL_TYPES.has(name) && !type.array) return dsqlRefusals.typeDoesNotExist(name);
  if (type.array) return dsqlRefusals.datatype(displayTypeName(type));
  const rule = builtin ? typeRule(name) : undefined;
  if (rule && rule.support !== 'column') return dsqlRefusals.datatype(displayTypeName(type));
  return undefined;
}

/**
 * DSQL's refusal for a type named in an expression (a cast, a typed literal, a domain's base
 * type, a function's argument): only types DSQL does not have at all; runtime types such as
 * arrays, `inet` or `regclass` are fine there.
 *
 * @example
 * expressionTypeRefusal({ names: ['xml'] }); // { code: '0A000', message: 'datatype xml not supported' }
 * expressionTypeRefusal({ names: ['inet'] }); // undefined
 */
export function expressionTypeRefusal(type: NamedType): DsqlRefusal | undefined {
  const { name, builtin } = identity(type);
  if (!builtin || typeRule(name)?.support !== 'unsupported') return undefined;
  return dsqlRefusals.datatype(displayTypeName({ names: type.names }));
}

/**
 * True for the one type identity columns and sequences may have (`bigint`).
 *
 * @example
 * isIdentityType({ names: ['pg_catalog', 'int8'] }); // true
 */
export function isIdentityType(type: NamedType): boolean {
  const { name, builtin } = identity(type);
  return builtin && name === IDENTITY_TYPE && !type.array;
}
