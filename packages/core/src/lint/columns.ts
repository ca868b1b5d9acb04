/**
 * Column definitions against the type catalogue (`../rules/types.ts`): SERIAL, arrays, types DSQL
 * does not store, and the identity rules (bigint, explicit CACHE 1 or ≥ 65536).
 */
import { SERIAL_TYPES, sequenceCacheAllowed, typeRule } from '../rules/types.js';
import { isIdentityType } from '../rules/type-names.js';
import type { Node } from './parse.js';
import { refuse, type LintVerdict } from './verdict.js';

/** The fix of a missing or wrong identity/sequence CACHE. */
export const CACHE_FIX = 'Give it an explicit CACHE 1 (or CACHE 65536 or more for high insert rates): GENERATED ALWAYS AS IDENTITY (CACHE 1).';

/** The type's own name, whether it is a built-in, and whether it is an array. */
export function typeOf(typeName: Node): { names: string[]; name: string; builtin: boolean; array: boolean } {
  const names: string[] = (typeName?.names ?? []).map((n: Node) => String(n?.String?.sval ?? ''));
  const name = names[names.length - 1] ?? '';
  return { names, name, builtin: names.length === 1 || (names.length === 2 && names[0] === 'pg_catalog'), array: (typeName?.arrayBounds ?? []).length > 0 };
}

/** The explicit `CACHE` of a sequence's or identity's options, if any. */
export function cacheOf(options: Node[] | undefined): number | undefined {
  const cache = (options ?? []).find((o: Node) => o?.DefElem?.defname === 'cache')?.DefElem;
  if (!cache) return undefined;
  return cache.arg?.Integer?.ival ?? Number(cache.arg?.Float?.fval ?? NaN);
}

/** The refusal for a column definition (`ColumnDef`), if any. */
export function columnRefusal(column: Node): LintVerdict | undefined {
  const name = String(column?.colname ?? '?');
  const type = typeOf(column?.typeName);
  if (type.builtin && SERIAL_TYPES.has(type.name) && !type.array) {
    return refuse(
      'serial-type',
      `column "${name}" is ${type.name.toUpperCase()}: DSQL has no serial types (type "${type.name}" does not exist).`,
      'Use a UUID key — uuid PRIMARY KEY DEFAULT gen_random_uuid() — or an identity column DSQL accepts: ' +
        'bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) (bigint, CACHE 1 or ≥ 65536).',
    );
  }
  if (type.array) {
    return refuse(
      'array-column',
      `column "${name}" is an array (${type.name}[]): DSQL does not store array columns.`,
      'Store the values in a child table (one row per element), or as text/JSON text that the application encodes.',
    );
  }
  const rule = type.builtin ? typeRule(type.name) : undefined;
  if (rule && rule.support !== 'column') {
    return refuse(
      'unsupported-type',
      `column "${name}" has type ${type.name}, which DSQL does not store.`,
      'Use a supported type (text, varchar, numeric, bigint, uuid, timestamptz, bytea, boolean, …).',
    );
  }
  for (const c of column?.constraints ?? []) {
    const constraint = c?.Constraint;
    if (constraint?.contype !== 'CONSTR_IDENTITY') continue;
    if (!isIdentityType(type)) {
      return refuse(
        'identity-type',
        `identity column "${name}" is ${type.name}: DSQL identity columns must be bigint.`,
        'Declare it bigint GENERATED ALWAYS AS IDENTITY (CACHE 1), or use a UUID key.',
      );
    }
    if (!sequenceCacheAllowed(cacheOf(constraint.options))) {
      return refuse('identity-cache', `identity column "${name}" has no explicit CACHE of 1 or ≥ 65536, which DSQL requires.`, CACHE_FIX);
    }
  }
  return undefined;
}
