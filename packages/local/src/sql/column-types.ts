/**
 * Which types DSQL takes, applied to libpg-query's `TypeName` nodes: the catalogue in
 * `@dsql/core/rules` decides; this module only reads the node. Columns take the user guide's
 * column types; expressions (casts, typed literals, domains, function signatures) take every
 * type DSQL has, runtime-only ones (arrays, `inet`, `regclass`, …) included. Names the catalogue
 * does not know (domains, user types, missing types) are left to PostgreSQL, which answers 42704
 * for a type that does not exist — as DSQL does.
 */
import {
  columnTypeRefusal as columnRefusalOf,
  displayTypeName,
  expressionTypeRefusal as expressionRefusalOf,
  isIdentityType,
  type NamedType,
} from '@dsql/core/rules';
import type { SqlError } from './hook.js';

/** A `TypeName` node as libpg-query returns it (the fields these rules read). */
export interface TypeNameNode {
  names?: Array<{ String?: { sval?: string } }>;
  arrayBounds?: unknown[];
  setof?: boolean;
}

/** The node as the catalogue reads a type: its name parts, and whether it is an array. */
function named(type: TypeNameNode): NamedType {
  return { names: (type.names ?? []).map((n) => n.String?.sval ?? ''), array: !!type.arrayBounds?.length };
}

/**
 * The type as PostgreSQL's `format_type` prints it without modifiers (`int4[]` → `integer[]`),
 * which is how DSQL names it in refusals.
 *
 * @example
 * formatTypeName({ names: [{ String: { sval: 'varbit' } }] }); // 'bit varying'
 */
export function formatTypeName(type: TypeNameNode): string {
  return displayTypeName(named(type));
}

/**
 * The refusal for a column of this type, or `undefined` when DSQL stores it.
 *
 * @example
 * columnTypeRefusal({ names: [{ String: { sval: 'money' } }] });
 * // → { code: '0A000', message: 'datatype money not supported' }
 */
export function columnTypeRefusal(type: TypeNameNode): SqlError | undefined {
  return columnRefusalOf(named(type));
}

/**
 * The refusal for a type named in an expression, or `undefined` when DSQL has it.
 *
 * @example
 * expressionTypeRefusal({ names: [{ String: { sval: 'xml' } }] });
 * // → { code: '0A000', message: 'datatype xml not supported' }
 */
export function expressionTypeRefusal(type: TypeNameNode): SqlError | undefined {
  return expressionRefusalOf(named(type));
}

/** True for `bigint` / `int8`, the only type DSQL allows for identity columns and sequences. */
export function isBigint(type: TypeNameNode): boolean {
  return isIdentityType(named(type));
}
