/**
 * ALTER TABLE forms DSQL refuses for reasons only the catalog knows, checked upstream right
 * before the statement runs, in one anonymous block answered with the tag `ALTER TABLE`:
 *
 * - dropping a primary key column: PostgreSQL drops the key with it, DSQL answers
 *   `0A000 cannot drop primary key column <name>`;
 * - adopting an index as a constraint (`ADD CONSTRAINT … UNIQUE USING INDEX i`) while its
 *   `CREATE INDEX ASYNC` job is still running: `55000 index "i" is not valid` (see `jobs.ts`).
 */
import { dollarQuote, quoteIdent, quoteLiteral } from './quote.js';

/** The parts of an `AlterTableStmt` node these checks read. */
interface AlterTableNode {
  relation?: { schemaname?: string; relname?: string };
  cmds?: Array<{
    AlterTableCmd?: { subtype?: string; name?: string; def?: { Constraint?: { indexname?: string } } };
  }>;
}

/**
 * The upstream statement that runs the checks and then `statement`, or `undefined` when the
 * statement needs none.
 *
 * @example
 * alterTableCheckSql({ relation: { relname: 't' }, cmds: [{ AlterTableCmd: { subtype: 'AT_DropColumn', name: 'id' } }] },
 *   'ALTER TABLE t DROP COLUMN id');
 * // → "DO $dsql0$BEGIN PERFORM sys.dsql_local_assert_droppable_columns('\"t\"', ARRAY['id']::text[]); …"
 */
export function alterTableCheckSql(stmt: AlterTableNode, statement: string): string | undefined {
  if (!stmt.relation?.relname) return undefined;
  const schema = stmt.relation.schemaname;
  const relation = [schema, stmt.relation.relname].filter((p): p is string => !!p).map(quoteIdent).join('.');
  const cmds = (stmt.cmds ?? []).map((c) => c.AlterTableCmd ?? {});
  const checks: string[] = [];

  const dropped = cmds.filter((c) => c.subtype === 'AT_DropColumn' && c.name).map((c) => quoteLiteral(String(c.name)));
  if (dropped.length) {
    checks.push(`PERFORM sys.dsql_local_assert_droppable_columns(${quoteLiteral(relation)}, ARRAY[${dropped.join(', ')}]::text[]);`);
  }
  for (const c of cmds) {
    const index = c.subtype === 'AT_AddConstraint' ? c.def?.Constraint?.indexname : undefined;
    if (!index) continue;
    // The index lives in the table's schema.
    const name = [schema, index].filter((p): p is string => !!p).map(quoteIdent).join('.');
    checks.push(`PERFORM sys.dsql_local_assert_index_built(${quoteLiteral(name)});`);
  }
  if (checks.length === 0) return undefined;
  return `DO ${dollarQuote(`BEGIN ${checks.join(' ')} EXECUTE ${dollarQuote(statement)}; END`)}`;
}

/** The upstream helpers the checks call (run once by the rules' bootstrap; jobs.ts has the other). */
export const alterTableChecksBootstrapSql: readonly string[] = [
  `CREATE SCHEMA IF NOT EXISTS sys`,
  `CREATE OR REPLACE FUNCTION sys.dsql_local_assert_droppable_columns(relation text, columns text[]) RETURNS void
    LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  key_column name;
BEGIN
  SELECT a.attname INTO key_column
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
   WHERE i.indisprimary AND i.indrelid = to_regclass(relation) AND a.attname = ANY (columns)
   LIMIT 1;
  IF key_column IS NOT NULL THEN
    RAISE EXCEPTION 'cannot drop primary key column %', key_column USING ERRCODE = '0A000';
  END IF;
END $fn$`,
  `GRANT USAGE ON SCHEMA sys TO PUBLIC`,
];
