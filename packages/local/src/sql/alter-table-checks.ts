/**
 * `ALTER TABLE … DROP COLUMN` of a primary key column: PostgreSQL drops the column and the key
 * with it, DSQL refuses (`0A000 cannot drop primary key column <name>`). Which columns form the
 * key is in the catalog, so the check runs upstream, right before the statement, in one
 * anonymous block answered with the tag `ALTER TABLE`.
 */

import { dollarQuote, quoteIdent, quoteLiteral } from './quote.js';

/** The parts of an `AlterTableStmt` node this check reads. */
interface AlterTableNode {
  relation?: { schemaname?: string; relname?: string };
  cmds?: Array<{ AlterTableCmd?: { subtype?: string; name?: string } }>;
}

/**
 * The upstream statement that refuses dropping a primary key column and otherwise runs
 * `statement`, or `undefined` when the statement drops no column.
 *
 * @example
 * dropColumnCheckSql({ relation: { relname: 't' }, cmds: [{ AlterTableCmd: { subtype: 'AT_DropColumn', name: 'id' } }] },
 *   'ALTER TABLE t DROP COLUMN id');
 * // → "DO $dsql0$BEGIN PERFORM dsql_local.assert_droppable_columns('\"t\"', ARRAY['id']::text[]); …"
 */
export function dropColumnCheckSql(stmt: AlterTableNode, statement: string): string | undefined {
  const dropped = (stmt.cmds ?? [])
    .filter((c) => c.AlterTableCmd?.subtype === 'AT_DropColumn' && c.AlterTableCmd.name)
    .map((c) => String(c.AlterTableCmd!.name));
  if (dropped.length === 0 || !stmt.relation?.relname) return undefined;
  const relation = [stmt.relation.schemaname, stmt.relation.relname]
    .filter((part): part is string => !!part)
    .map(quoteIdent)
    .join('.');
  const columns = dropped.map(quoteLiteral).join(', ');
  const body =
    `BEGIN PERFORM dsql_local.assert_droppable_columns(${quoteLiteral(relation)}, ARRAY[${columns}]::text[]); ` +
    `EXECUTE ${dollarQuote(statement)}; END`;
  return `DO ${dollarQuote(body)}`;
}

/** The upstream helper `dropColumnCheckSql` calls (run once by the rules' bootstrap). */
export const dropColumnBootstrapSql: readonly string[] = [
  `CREATE SCHEMA IF NOT EXISTS dsql_local`,
  `CREATE OR REPLACE FUNCTION dsql_local.assert_droppable_columns(relation text, columns text[]) RETURNS void
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
  `GRANT USAGE ON SCHEMA dsql_local TO PUBLIC`,
];
