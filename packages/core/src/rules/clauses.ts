/**
 * Clauses and forms inside statements DSQL otherwise takes: locking strengths of SELECT, the
 * clauses of CREATE TABLE and CREATE INDEX, and the forms of ALTER TABLE.
 */
import type { RuleCertainty, RuleSource } from './sources.js';

/** One clause or form and what DSQL does with it. */
export interface ClauseRule {
  /** The parser's name for it (a libpg-query enum value or field). */
  readonly key: string;
  /** The words DSQL's refusal names it with (`FOR SHARE`, `ALTER COLUMN ... SET DEFAULT`). */
  readonly words: string;
  readonly supported: boolean;
  readonly source: RuleSource;
  readonly certainty: RuleCertainty;
}

const c = (key: string, words: string, supported: boolean, source: RuleSource, certainty: RuleCertainty): ClauseRule =>
  Object.freeze({ key, words, supported, source, certainty });

/**
 * Row-locking clauses of SELECT (`LockClauseStrength`): FOR UPDATE and, since August 2026,
 * FOR KEY SHARE; the others are refused (recorded).
 */
export const LOCKING_CLAUSES: readonly ClauseRule[] = Object.freeze([
  c('LCS_FORUPDATE', 'FOR UPDATE', true, 'supportedSql', 'recorded'),
  c('LCS_FORKEYSHARE', 'FOR KEY SHARE', true, 'releaseNotes', 'recorded'),
  c('LCS_FORNOKEYUPDATE', 'FOR NO KEY UPDATE', false, 'recordings', 'recorded'),
  c('LCS_FORSHARE', 'FOR SHARE', false, 'recordings', 'recorded'),
]);

/**
 * CREATE TABLE clauses (user guide: "CREATE TABLE … COLLATE, AS SELECT, INHERITS, PARTITION"
 * are unsupported, as are temporary tables and exclusion constraints; UNLOGGED recorded).
 * Keys: `temporary`, `unlogged`, `partitionBy`, `partitionOf`, `inherits`, `collate`, `exclude`,
 * `tablespace`, `with`.
 */
export const CREATE_TABLE_CLAUSES: readonly ClauseRule[] = Object.freeze([
  c('temporary', 'TEMPORARY or TEMP table', false, 'recordings', 'recorded'),
  c('unlogged', 'UNLOGGED table', false, 'recordings', 'recorded'),
  c('partitionBy', 'PARTITION BY', false, 'unsupported', 'documented'),
  c('partitionOf', 'PARTITION OF', false, 'unsupported', 'documented'),
  c('inherits', 'INHERITS', false, 'unsupported', 'documented'),
  c('collate', 'COLLATE', false, 'unsupported', 'documented'),
  c('exclude', 'EXCLUDE constraint', false, 'unsupported', 'documented'),
  c('tablespace', 'TABLESPACE', false, 'unsupported', 'documented'),
  c('like', 'LIKE', true, 'sqlSubsets', 'documented'),
  c('storage', 'STORAGE', true, 'releaseNotes', 'recorded'),
  c('foreignKey', 'REFERENCES', true, 'foreignKeys', 'recorded'),
]);

/**
 * CREATE INDEX: only `ASYNC` (recorded), B-tree, no explicit `ASC` / `DESC` (user guide,
 * "Unsupported SQL expressions"); NULLS FIRST / LAST, UNIQUE, INCLUDE, NULLS NOT DISTINCT,
 * expressions (August 2026) and partial indexes (September 2026) are supported.
 */
export const CREATE_INDEX_CLAUSES: readonly ClauseRule[] = Object.freeze([
  c('SORTBY_ASC', 'ASC', false, 'unsupported', 'documented'),
  c('SORTBY_DESC', 'DESC', false, 'unsupported', 'documented'),
  c('concurrent', 'CONCURRENTLY', false, 'asyncIndexes', 'inferred'),
  c('nulls', 'NULLS FIRST / NULLS LAST', true, 'supportedSql', 'documented'),
  c('whereClause', 'WHERE (partial index)', true, 'releaseNotes', 'recorded'),
  c('expression', 'expression', true, 'releaseNotes', 'recorded'),
  c('indexIncludingParams', 'INCLUDE', true, 'asyncIndexes', 'recorded'),
]);

/**
 * The one index access method DSQL builds (user guide, "Asynchronous indexes" / CREATE INDEX:
 * B-tree only; AWS's dsql-lint refuses other methods as `index_using`).
 */
export const INDEX_ACCESS_METHOD = 'btree';

/**
 * ALTER TABLE forms (`AlterTableType`), from the user guide's ALTER TABLE page ("Supported
 * syntax", the version that lists `ALTER TABLE ASYNC … VALIDATE CONSTRAINT`, August 2026 or
 * later): ADD [COLUMN] (bare: a constraint or default is refused, recorded), DROP [COLUMN] (not a
 * primary key column), ALTER COLUMN SET DEFAULT / DROP DEFAULT / DROP NOT NULL / DROP EXPRESSION,
 * ADD GENERATED … AS IDENTITY, SET GENERATED / SET sequence_option / RESTART, DROP IDENTITY,
 * SET STORAGE, ALTER CONSTRAINT … [NOT] DEFERRABLE, ADD table_constraint NOT VALID (then
 * ALTER TABLE ASYNC … VALIDATE), ADD … UNIQUE USING INDEX, OWNER TO, RENAME, SET SCHEMA. Every
 * form the page does not list is refused `unsupported ALTER TABLE <words> statement` (SET DATA
 * TYPE recorded; the others in the same words). Identity forms still follow the CACHE rule.
 */
export const ALTER_TABLE_FORMS: readonly ClauseRule[] = Object.freeze([
  c('AT_AddColumn', 'ADD COLUMN', true, 'alterTable', 'recorded'),
  c('AT_DropColumn', 'DROP COLUMN', true, 'releaseNotes', 'recorded'),
  c('AT_AddConstraint', 'ADD CONSTRAINT', true, 'alterTable', 'recorded'),
  c('AT_ValidateConstraint', 'VALIDATE CONSTRAINT', true, 'alterTable', 'recorded'),
  c('AT_SetStorage', 'ALTER COLUMN ... SET STORAGE', true, 'releaseNotes', 'recorded'),
  c('AT_ChangeOwner', 'OWNER TO', true, 'alterTable', 'documented'),
  // Listed on the ALTER TABLE page ("ALTER [ COLUMN ] column_name SET DEFAULT expression",
  // "… DROP DEFAULT", "… DROP NOT NULL", "… DROP EXPRESSION [ IF EXISTS ]", "… ADD GENERATED
  // { ALWAYS | BY DEFAULT } AS IDENTITY", "… SET GENERATED … | SET sequence_option | RESTART",
  // "… DROP IDENTITY [ IF EXISTS ]", "ALTER CONSTRAINT constraint_name [ DEFERRABLE | NOT
  // DEFERRABLE ]"). SET DEFAULT and DROP DEFAULT share one subtype.
  c('AT_ColumnDefault', 'ALTER COLUMN ... SET DEFAULT', true, 'alterTable', 'documented'),
  c('AT_DropNotNull', 'ALTER COLUMN ... DROP NOT NULL', true, 'alterTable', 'documented'),
  c('AT_DropExpression', 'ALTER COLUMN ... DROP EXPRESSION', true, 'alterTable', 'documented'),
  c('AT_AddIdentity', 'ALTER COLUMN ... ADD GENERATED AS IDENTITY', true, 'alterTable', 'documented'),
  c('AT_SetIdentity', 'ALTER COLUMN ... SET GENERATED', true, 'alterTable', 'documented'),
  c('AT_DropIdentity', 'ALTER COLUMN ... DROP IDENTITY', true, 'alterTable', 'documented'),
  c('AT_AlterConstraint', 'ALTER CONSTRAINT', true, 'alterTable', 'documented'),
  // Not confirmed: the stored copies of the ALTER TABLE page are cut before the end of the action
  // list. Kept supported (it only removes a restriction) until a page or a recording says otherwise.
  c('AT_DropConstraint', 'DROP CONSTRAINT', true, 'foreignKeys', 'inferred'),
  c('AT_AlterColumnType', 'ALTER COLUMN ... SET DATA TYPE', false, 'recordings', 'recorded'),
  // Forms the ALTER TABLE page does not list. SET STATISTICS is a column's statistics target,
  // not the CREATE / ALTER / DROP STATISTICS commands of the August 27, 2026 release note.
  c('AT_SetStatistics', 'ALTER COLUMN ... SET STATISTICS', false, 'alterTable', 'documented'),
  c('AT_SetNotNull', 'ALTER COLUMN ... SET NOT NULL', false, 'alterTable', 'documented'),
  c('AT_SetExpression', 'ALTER COLUMN ... SET EXPRESSION', false, 'alterTable', 'documented'),
  c('AT_SetCompression', 'ALTER COLUMN ... SET COMPRESSION', false, 'alterTable', 'documented'),
  c('AT_EnableRowSecurity', 'ENABLE ROW LEVEL SECURITY', false, 'alterTable', 'documented'),
  c('AT_DisableRowSecurity', 'DISABLE ROW LEVEL SECURITY', false, 'alterTable', 'documented'),
  c('AT_ForceRowSecurity', 'FORCE ROW LEVEL SECURITY', false, 'alterTable', 'documented'),
  c('AT_NoForceRowSecurity', 'NO FORCE ROW LEVEL SECURITY', false, 'alterTable', 'documented'),
  c('AT_AttachPartition', 'ATTACH PARTITION', false, 'unsupported', 'documented'),
  c('AT_DetachPartition', 'DETACH PARTITION', false, 'unsupported', 'documented'),
  c('AT_AddInherit', 'INHERIT', false, 'unsupported', 'documented'),
  c('AT_DropInherit', 'NO INHERIT', false, 'unsupported', 'documented'),
  c('AT_SetTableSpace', 'SET TABLESPACE', false, 'unsupported', 'documented'),
  c('AT_SetLogged', 'SET LOGGED', false, 'unsupported', 'documented'),
  c('AT_SetUnLogged', 'SET UNLOGGED', false, 'unsupported', 'documented'),
  c('AT_ClusterOn', 'CLUSTER ON', false, 'alterTable', 'documented'),
  c('AT_DropCluster', 'SET WITHOUT CLUSTER', false, 'alterTable', 'documented'),
  c('AT_SetRelOptions', 'SET (storage parameter)', false, 'alterTable', 'documented'),
  c('AT_ResetRelOptions', 'RESET (storage parameter)', false, 'alterTable', 'documented'),
  c('AT_ReplicaIdentity', 'REPLICA IDENTITY', false, 'alterTable', 'documented'),
  c('AT_AddOf', 'OF', false, 'alterTable', 'documented'),
  c('AT_DropOf', 'NOT OF', false, 'alterTable', 'documented'),
  c('AT_SetAccessMethod', 'SET ACCESS METHOD', false, 'alterTable', 'documented'),
  ...['AT_EnableTrig', 'AT_EnableAlwaysTrig', 'AT_EnableReplicaTrig', 'AT_EnableTrigAll', 'AT_EnableTrigUser'].map((k) =>
    c(k, 'ENABLE TRIGGER', false, 'unsupported', 'documented'),
  ),
  ...['AT_DisableTrig', 'AT_DisableTrigAll', 'AT_DisableTrigUser'].map((k) =>
    c(k, 'DISABLE TRIGGER', false, 'unsupported', 'documented'),
  ),
  ...['AT_EnableRule', 'AT_EnableAlwaysRule', 'AT_EnableReplicaRule'].map((k) =>
    c(k, 'ENABLE RULE', false, 'unsupported', 'inferred'),
  ),
  c('AT_DisableRule', 'DISABLE RULE', false, 'unsupported', 'inferred'),
]);

const ALTER_TABLE_BY_KEY: ReadonlyMap<string, ClauseRule> = new Map(ALTER_TABLE_FORMS.map((f) => [f.key, f]));

/**
 * The catalogue entry of an ALTER TABLE form (`AlterTableType`), if known; forms the catalogue
 * does not list are left to PostgreSQL.
 *
 * @example
 * alterTableForm('AT_ColumnDefault')?.supported; // true
 * alterTableForm('AT_SetNotNull')?.supported; // false
 */
export function alterTableForm(subtype: string): ClauseRule | undefined {
  return ALTER_TABLE_BY_KEY.get(subtype);
}
