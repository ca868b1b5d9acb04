/**
 * One walk over a statement's parse tree for what DSQL refuses wherever it appears — in a
 * query, a view, a default, a CHECK, a function body's signature: types it does not have
 * (casts, typed literals, domains, XML expressions), functions it does not have, `set_config()`
 * of a fixed setting, locking clauses other than FOR UPDATE / FOR KEY SHARE — and whether the
 * statement writes rows (a data-modifying CTE makes a SELECT a write).
 */
import { FIXED_SETTINGS, LOCKING_CLAUSES, unsupportedFunctionCall } from '@dsql/core/rules';
import { expressionTypeRefusal, type TypeNameNode } from './column-types.js';
import type { SqlError } from './hook.js';
import { dsqlErrors } from './messages.js';

// The JSON tree is untyped here on purpose: @pgsql/types describes it, but the rules read a
// handful of fields and treat everything else as opaque.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = any;

/** What the walk found; each refusal is the first of its kind in tree order. */
export interface ExpressionScan {
  writes: boolean;
  /** An emulator helper called by the client (qualified as written): DSQL has no such function. */
  internal?: SqlError;
  /** A function DSQL does not have, or `set_config()` of a setting DSQL fixes. */
  function?: SqlError;
  /** A type DSQL does not have. */
  type?: SqlError;
  /** A locking clause DSQL refuses. */
  lock?: SqlError;
}

const ALLOWED_LOCKS = new Set(LOCKING_CLAUSES.filter((c) => c.supported).map((c) => c.key));

/**
 * The emulator's own helpers in `sys` (see jobs.ts): the proxy calls them in the statements it
 * rewrites, after these checks; DSQL has no such functions, so a client's own call is refused.
 */
const EMULATOR_FUNCTION = /^dsql_local_/;

const WRITES = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

const sval = (n: Node): string => String(n?.String?.sval ?? '');

/**
 * A `FuncCall`'s refusal, if DSQL lacks the function as written: the catalogue refuses a bare name
 * only for `pg_`-prefixed families, the rest only `pg_catalog.`-qualified (a bare `area(…)` may
 * be the user's own `LANGUAGE sql` function).
 */
function functionRefusal(call: Node, found: ExpressionScan): void {
  const parts: string[] = (call.funcname ?? []).map(sval);
  const name = parts[parts.length - 1] ?? '';
  if (!found.internal && EMULATOR_FUNCTION.test(name)) found.internal = dsqlErrors.undefinedFunction(parts.join('.'));
  if (found.function) return;
  if (unsupportedFunctionCall(parts)) {
    found.function = dsqlErrors.unsupportedFunction(name.toLowerCase());
    return;
  }
  const builtin = parts.length === 1 || (parts.length === 2 && parts[0] === 'pg_catalog');
  if (!builtin) return;
  // set_config('transaction_isolation', …) changes what SET may not.
  const setting = name.toLowerCase() === 'set_config' ? call.args?.[0]?.A_Const?.sval?.sval : undefined;
  if (typeof setting === 'string' && FIXED_SETTINGS.has(setting.toLowerCase())) {
    found.function = dsqlErrors.unsupportedSetting(setting);
  }
}

/** True for a `TypeName` node (the only node with a `names` list of strings). */
const isTypeName = (value: Node): boolean =>
  Array.isArray(value?.names) && value.names.length > 0 && value.names.every((n: Node) => n?.String);

/**
 * Walks `node` and records what DSQL refuses in it.
 *
 * @example
 * const found = { writes: false };
 * scanExpressions({ SelectStmt: { targetList: [] } }, found);
 */
export function scanExpressions(node: Node, found: ExpressionScan): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) scanExpressions(item, found);
    return;
  }
  if (!found.type && isTypeName(node)) {
    const refusal = expressionTypeRefusal(node as TypeNameNode);
    if (refusal) found.type = refusal;
  }
  for (const key in node) {
    const value = node[key];
    if (value === null || typeof value !== 'object') continue;
    switch (key) {
      case 'LockingClause':
        if (!found.lock && !ALLOWED_LOCKS.has(value.strength)) found.lock = dsqlErrors.lockingClause();
        break;
      case 'FuncCall':
        functionRefusal(value, found);
        break;
      case 'XmlExpr':
      case 'XmlSerialize':
        found.type ??= dsqlErrors.datatype('xml');
        break;
      default:
        if (WRITES.has(key)) found.writes = true;
    }
    scanExpressions(value, found);
  }
}

/**
 * The refusal the walk found, in the order DSQL's checks are assumed to run: a call of an
 * emulator helper (42883, as for any missing function), a missing function, a missing type, then
 * the locking clause.
 *
 * @example
 * expressionRefusal({ writes: false }); // undefined
 */
export function expressionRefusal(found: ExpressionScan): SqlError | undefined {
  return found.internal ?? found.function ?? found.type ?? found.lock;
}
