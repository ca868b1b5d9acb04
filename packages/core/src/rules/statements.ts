/**
 * SQL statements as DSQL takes them, keyed by the PostgreSQL parse node (`TruncateStmt`, …):
 * how each counts in DSQL's transaction rules, and which DSQL refuses outright.
 */
import type { RuleCertainty, RuleSource } from './sources.js';

/** How a statement counts in DSQL's transaction rules (one DDL per transaction, never with DML). */
export type StatementKind = 'ddl' | 'dml' | 'read' | 'begin' | 'commit' | 'rollback' | 'other';

/** A statement kind DSQL refuses whatever its options. */
export interface UnsupportedStatement {
  /** The parse node; DSQL names it without `Stmt` in `unsupported statement: …`. */
  readonly node: string;
  /** What a user would call it. */
  readonly statement: string;
  readonly source: RuleSource;
  readonly certainty: RuleCertainty;
}

const u = (node: string, statement: string, source: RuleSource, certainty: RuleCertainty): UnsupportedStatement =>
  Object.freeze({ node, statement, source, certainty });

/**
 * Statements DSQL answers with `0A000 unsupported statement: <node without Stmt>`.
 * (Statements refused with their own text — CREATE TRIGGER, CREATE TYPE, VACUUM, … — are
 * handled by the rules for them.)
 */
export const UNSUPPORTED_STATEMENTS: readonly UnsupportedStatement[] = Object.freeze([
  u('TruncateStmt', 'TRUNCATE', 'recordings', 'recorded'),
  u('CreateExtensionStmt', 'CREATE EXTENSION', 'recordings', 'recorded'),
  u('AlterExtensionStmt', 'ALTER EXTENSION', 'unsupported', 'documented'),
  u('AlterExtensionContentsStmt', 'ALTER EXTENSION ADD/DROP', 'unsupported', 'documented'),
  u('CreatedbStmt', 'CREATE DATABASE', 'recordings', 'recorded'),
  u('DropdbStmt', 'DROP DATABASE', 'unsupported', 'documented'),
  u('AlterDatabaseStmt', 'ALTER DATABASE', 'unsupported', 'documented'),
  u('AlterDatabaseSetStmt', 'ALTER DATABASE SET', 'unsupported', 'documented'),
  u('AlterDatabaseRefreshCollStmt', 'ALTER DATABASE REFRESH COLLATION VERSION', 'unsupported', 'documented'),
  u('CreateTableAsStmt', 'CREATE TABLE AS / CREATE MATERIALIZED VIEW / SELECT INTO', 'recordings', 'recorded'),
  u('RefreshMatViewStmt', 'REFRESH MATERIALIZED VIEW', 'unsupported', 'documented'),
  u('CompositeTypeStmt', 'CREATE TYPE … AS (…)', 'recordings', 'recorded'),
  u('CreateRangeStmt', 'CREATE TYPE … AS RANGE', 'recordings', 'recorded'),
  u('CreateTableSpaceStmt', 'CREATE TABLESPACE', 'recordings', 'recorded'),
  u('DropTableSpaceStmt', 'DROP TABLESPACE', 'unsupported', 'documented'),
  u('AlterTableSpaceOptionsStmt', 'ALTER TABLESPACE', 'unsupported', 'documented'),
  u('AlterTableMoveAllStmt', 'ALTER TABLE ALL IN TABLESPACE', 'unsupported', 'documented'),
  u('CreateForeignTableStmt', 'CREATE FOREIGN TABLE', 'recordings', 'recorded'),
  u('CreateForeignServerStmt', 'CREATE SERVER', 'unsupported', 'documented'),
  u('AlterForeignServerStmt', 'ALTER SERVER', 'unsupported', 'documented'),
  u('CreateFdwStmt', 'CREATE FOREIGN DATA WRAPPER', 'unsupported', 'documented'),
  u('AlterFdwStmt', 'ALTER FOREIGN DATA WRAPPER', 'unsupported', 'documented'),
  u('CreateUserMappingStmt', 'CREATE USER MAPPING', 'unsupported', 'documented'),
  u('AlterUserMappingStmt', 'ALTER USER MAPPING', 'unsupported', 'documented'),
  u('DropUserMappingStmt', 'DROP USER MAPPING', 'unsupported', 'documented'),
  u('ImportForeignSchemaStmt', 'IMPORT FOREIGN SCHEMA', 'unsupported', 'documented'),
  u('CreatePublicationStmt', 'CREATE PUBLICATION', 'unsupported', 'inferred'),
  u('AlterPublicationStmt', 'ALTER PUBLICATION', 'unsupported', 'inferred'),
  u('CreateSubscriptionStmt', 'CREATE SUBSCRIPTION', 'unsupported', 'inferred'),
  u('AlterSubscriptionStmt', 'ALTER SUBSCRIPTION', 'unsupported', 'inferred'),
  u('DropSubscriptionStmt', 'DROP SUBSCRIPTION', 'unsupported', 'inferred'),
  u('CreateEventTrigStmt', 'CREATE EVENT TRIGGER', 'unsupported', 'documented'),
  u('AlterEventTrigStmt', 'ALTER EVENT TRIGGER', 'unsupported', 'documented'),
  u('CreatePLangStmt', 'CREATE LANGUAGE', 'unsupported', 'documented'),
  u('ListenStmt', 'LISTEN', 'recordings', 'recorded'),
  u('NotifyStmt', 'NOTIFY', 'recordings', 'recorded'),
  u('UnlistenStmt', 'UNLISTEN', 'recordings', 'recorded'),
  u('AlterSystemStmt', 'ALTER SYSTEM', 'recordings', 'recorded'),
  u('LoadStmt', 'LOAD', 'unsupported', 'inferred'),
  // Absent from Supported SQL's DML list (INSERT, SELECT, UPDATE, DELETE), which says it "is not
  // exhaustive": inferred, not documented.
  u('MergeStmt', 'MERGE', 'supportedSql', 'inferred'),
  u('DoStmt', 'DO', 'unsupported', 'documented'),
  u('CreatePolicyStmt', 'CREATE POLICY', 'unsupported', 'inferred'),
  u('AlterPolicyStmt', 'ALTER POLICY', 'unsupported', 'inferred'),
  u('RuleStmt', 'CREATE RULE', 'unsupported', 'inferred'),
  u('CreateConversionStmt', 'CREATE CONVERSION', 'unsupported', 'inferred'),
  u('CreateCastStmt', 'CREATE CAST', 'unsupported', 'inferred'),
  u('CreateOpClassStmt', 'CREATE OPERATOR CLASS', 'unsupported', 'inferred'),
  u('CreateOpFamilyStmt', 'CREATE OPERATOR FAMILY', 'unsupported', 'inferred'),
  u('AlterOpFamilyStmt', 'ALTER OPERATOR FAMILY', 'unsupported', 'inferred'),
  u('CreateAmStmt', 'CREATE ACCESS METHOD', 'unsupported', 'inferred'),
  u('CreateTransformStmt', 'CREATE TRANSFORM', 'unsupported', 'inferred'),
  u('SecLabelStmt', 'SECURITY LABEL', 'unsupported', 'inferred'),
  u('ReindexStmt', 'REINDEX', 'asyncIndexes', 'inferred'),
  u('ClusterStmt', 'CLUSTER', 'unsupported', 'inferred'),
  u('CheckPointStmt', 'CHECKPOINT', 'unsupported', 'inferred'),
  u('LockStmt', 'LOCK', 'concurrency', 'inferred'),
]);

const UNSUPPORTED_BY_NODE: ReadonlyMap<string, UnsupportedStatement> = new Map(
  UNSUPPORTED_STATEMENTS.map((s) => [s.node, s]),
);

/**
 * The catalogue entry when DSQL refuses every statement of this parse node.
 *
 * @example
 * unsupportedStatement('TruncateStmt')?.statement; // 'TRUNCATE'
 * unsupportedStatement('SelectStmt'); // undefined
 */
export function unsupportedStatement(node: string): UnsupportedStatement | undefined {
  return UNSUPPORTED_BY_NODE.get(node);
}

/**
 * Statements that are neither DDL nor DML in DSQL's transaction rules; every other statement
 * that is not a query, a write or transaction control counts as DDL (GRANT / REVOKE included,
 * as recorded).
 */
export const NOT_DDL_STATEMENTS: ReadonlySet<string> = new Set([
  'VariableSetStmt', 'VariableShowStmt', 'DiscardStmt', 'PrepareStmt', 'ExecuteStmt',
  'DeallocateStmt', 'DeclareCursorStmt', 'FetchStmt', 'ClosePortalStmt', 'CallStmt',
  'ExplainStmt', 'LockStmt', 'CheckPointStmt', 'ConstraintsSetStmt', 'VacuumStmt',
  'ReindexStmt', 'ClusterStmt', 'LoadStmt', 'ListenStmt', 'UnlistenStmt', 'NotifyStmt', 'DoStmt',
  'RefreshMatViewStmt',
]);

/**
 * Transaction statements DSQL refuses, by libpg-query's `TransactionStmtKind`, with the name
 * DSQL prints after `unsupported transaction statement: ` (SAVEPOINT and ROLLBACK TO recorded).
 */
export const UNSUPPORTED_TRANSACTION_STATEMENTS: Readonly<Record<string, string>> = Object.freeze({
  TRANS_STMT_SAVEPOINT: 'SAVEPOINT',
  TRANS_STMT_RELEASE: 'RELEASE',
  TRANS_STMT_ROLLBACK_TO: 'ROLLBACK TO',
  TRANS_STMT_PREPARE: 'PREPARE TRANSACTION',
  TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED',
  TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
});

/** The only isolation level DSQL runs (user guide: equivalent to PostgreSQL's repeatable read). */
export const ISOLATION_LEVEL = 'repeatable read';
