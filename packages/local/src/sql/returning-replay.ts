/**
 * The rows an `UPDATE … RETURNING` / `DELETE … RETURNING` would have returned, for a statement
 * that lost an emulated OCC conflict (it met another transaction's row lock, so PostgreSQL ran
 * nothing). On DSQL such a statement returns its rows and the COMMIT fails; ORMs read those rows
 * (Prisma's `update()` / `delete()`, Drizzle's and Kysely's `returning`) and an empty answer
 * looks like "no such row" — a business error nobody retries.
 *
 * The rows are computed by a SELECT that takes no row locks, from the statement's own parts:
 *
 * - `DELETE FROM t AS a WHERE c RETURNING r` → `SELECT r FROM t AS a WHERE c` (the rows as they were);
 * - `UPDATE t AS a SET x = e, … WHERE c RETURNING r` →
 *   `SELECT r' FROM (SELECT (jsonb_populate_record(a, jsonb_build_object('x', CASE WHEN false THEN a.x ELSE (e) END, …))).* FROM t AS a WHERE c) AS a`
 *   — every row with its new values (`jsonb_populate_record` keeps the other columns from the row
 *   itself; the CASE gives `e`, parameters included, the column's type), and `r'` is the RETURNING
 *   list with references to the table unqualified (`"public"."t"."id"` → `"id"`).
 *
 * Statements with a `WITH`, `FROM` / `USING` list, multi-column or subscripted assignments are not
 * rewritten (undefined): the caller answers as before. Fragments are printed with
 * `pgsql-deparser`, the deparser made for libpg-query's trees.
 */
import { parseSync } from 'libpg-query';
import { Deparser } from 'pgsql-deparser';
import { quoteIdent, quoteLiteral } from './quote.js';

// libpg-query's JSON tree, read loosely (the fields used here).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = any;

const RETURNING = /\breturning\b/i;

/**
 * The SELECT giving the rows `sql` (one UPDATE or DELETE with RETURNING) would return, or
 * undefined when `sql` is not such a statement or has a shape this does not rewrite.
 *
 * @example
 * returningReplaySql('UPDATE t SET n = n + 1 WHERE id = $1 RETURNING n');
 * // → SELECT n FROM (SELECT (jsonb_populate_record("t", jsonb_build_object('n', CASE WHEN false THEN "t"."n" ELSE (n + 1) END))).* FROM t WHERE id = $1) AS "t"
 */
export function returningReplaySql(sql: string): string | undefined {
  if (!RETURNING.test(sql)) return undefined;
  let stmts: Node[];
  try {
    stmts = parseSync(sql).stmts ?? [];
  } catch {
    return undefined; // not parsable here (or the parser is not loaded: pass-through rules)
  }
  if (stmts.length !== 1) return undefined;
  const stmt = stmts[0].stmt ?? {};
  const update = stmt.UpdateStmt;
  const del = stmt.DeleteStmt;
  const s = update ?? del;
  if (!s || s.withClause || s.fromClause?.length || s.usingClause?.length || !s.returningList?.length || !s.relation) return undefined;
  const relation = s.relation;
  const ref: string = relation.alias?.aliasname ?? relation.relname;
  const from = Deparser.deparse({ RangeVar: relation });
  const where = s.whereClause ? ` WHERE ${Deparser.deparse(s.whereClause)}` : '';
  if (del) return `SELECT ${s.returningList.map(deparse).join(', ')} FROM ${from}${where}`;

  const pairs: string[] = [];
  for (const t of update.targetList ?? []) {
    const target = t.ResTarget;
    if (!target?.name || target.indirection?.length || target.val?.MultiAssignRef) return undefined;
    const column = quoteIdent(target.name);
    pairs.push(`${quoteLiteral(target.name)}, CASE WHEN false THEN ${quoteIdent(ref)}.${column} ELSE (${Deparser.deparse(target.val)}) END`);
  }
  if (pairs.length === 0) return undefined;
  const returning: string[] = [];
  for (const r of s.returningList) {
    const unqualified = unqualify(r, relation);
    if (unqualified === undefined) return undefined;
    returning.push(deparse(unqualified));
  }
  const row = `jsonb_populate_record(${quoteIdent(ref)}, jsonb_build_object(${pairs.join(', ')}))`;
  return `SELECT ${returning.join(', ')} FROM (SELECT (${row}).* FROM ${from}${where}) AS ${quoteIdent(ref)}`;
}

function deparse(node: Node): string {
  return Deparser.deparse(node);
}

/**
 * A copy of a RETURNING item with every column reference to the target table made unqualified
 * (the rewritten query reads a subquery, where `"schema"."table"."column"` does not resolve);
 * undefined when it refers to anything else by a qualified name.
 */
function unqualify(node: Node, relation: Node): Node | undefined {
  const names = new Set<string>([relation.alias?.aliasname ?? relation.relname]);
  let foreign = false;
  const visit = (n: Node): Node => {
    if (Array.isArray(n)) return n.map(visit);
    if (n === null || typeof n !== 'object') return n;
    if (n.ColumnRef) {
      const fields: Node[] = n.ColumnRef.fields ?? [];
      if (fields.length <= 1) return n;
      const qualifier = fields.slice(0, -1).map((f: Node) => f.String?.sval);
      const table = qualifier[qualifier.length - 1];
      const schemaOk = qualifier.length === 1 || (qualifier.length === 2 && !relation.alias && (relation.schemaname === undefined || qualifier[0] === relation.schemaname));
      if (!schemaOk || !names.has(table)) {
        foreign = true;
        return n;
      }
      return { ColumnRef: { ...n.ColumnRef, fields: [fields[fields.length - 1]] } };
    }
    return Object.fromEntries(Object.entries(n).map(([k, v]) => [k, visit(v)]));
  };
  const out = visit(node);
  return foreign ? undefined : out;
}
