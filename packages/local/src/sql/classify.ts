/**
 * One parsed statement → what DSQL makes of it: its kind for the transaction rules (DDL, DML,
 * transaction control, …) and the refusal DSQL answers with, if any. Pure; reads the
 * libpg-query JSON tree (PostgreSQL 17 grammar, a superset of what DSQL 16 accepts).
 */
import type { SqlError } from './hook.js';
import { columnTypeRefusal, formatTypeName, isBigint, type TypeNameNode } from './column-types.js';
import { dsqlErrors } from './messages.js';

/** How a statement counts in DSQL's transaction rules. */
export type StatementKind = 'ddl' | 'dml' | 'read' | 'begin' | 'commit' | 'rollback' | 'other';

/** What the rules need to know about one statement. */
export interface StatementClass {
  kind: StatementKind;
  refusal?: SqlError;
}

// The JSON tree is untyped here on purpose: @pgsql/types describes it, but the rules read a
// handful of fields and treat everything else as opaque.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = any;

/** Statements that are neither DDL nor DML for DSQL (everything else is DDL). */
const NOT_DDL = new Set([
  'VariableSetStmt', 'VariableShowStmt', 'DiscardStmt', 'PrepareStmt', 'ExecuteStmt',
  'DeallocateStmt', 'DeclareCursorStmt', 'FetchStmt', 'ClosePortalStmt', 'CallStmt',
  'ExplainStmt', 'LockStmt', 'CheckPointStmt', 'ConstraintsSetStmt', 'VacuumStmt',
  'ReindexStmt', 'ClusterStmt', 'LoadStmt', 'ListenStmt', 'UnlistenStmt', 'NotifyStmt', 'DoStmt',
  'RefreshMatViewStmt',
]);

/** Statements DSQL answers with `unsupported statement: <name without Stmt>`. */
const UNSUPPORTED_STATEMENTS = new Set([
  'TruncateStmt', 'CreateExtensionStmt', 'AlterExtensionStmt', 'AlterExtensionContentsStmt',
  'CreatedbStmt', 'DropdbStmt', 'AlterDatabaseStmt', 'AlterDatabaseSetStmt',
  'AlterDatabaseRefreshCollStmt', 'CreateTableAsStmt', 'RefreshMatViewStmt',
  'CompositeTypeStmt', 'CreateRangeStmt', 'CreateTableSpaceStmt', 'DropTableSpaceStmt',
  'AlterTableSpaceOptionsStmt', 'AlterTableMoveAllStmt', 'CreateForeignTableStmt',
  'CreateForeignServerStmt', 'AlterForeignServerStmt', 'CreateFdwStmt', 'AlterFdwStmt',
  'CreateUserMappingStmt', 'AlterUserMappingStmt', 'DropUserMappingStmt',
  'ImportForeignSchemaStmt', 'CreatePublicationStmt', 'AlterPublicationStmt',
  'CreateSubscriptionStmt', 'AlterSubscriptionStmt', 'DropSubscriptionStmt',
  'CreateEventTrigStmt', 'AlterEventTrigStmt', 'CreatePLangStmt', 'ListenStmt', 'NotifyStmt',
  'UnlistenStmt', 'AlterSystemStmt', 'LoadStmt', 'MergeStmt', 'DoStmt',
]);

/** The node's name as DSQL prints it in `unsupported statement: …`. */
const statementName = (node: string): string => node.replace(/Stmt$/, '');

/** `CACHE n` as DSQL allows it: 1 or at least 65,536. */
function cacheAllowed(options: Node[] | undefined): boolean {
  const cache = (options ?? []).find((o: Node) => o.DefElem?.defname === 'cache')?.DefElem;
  if (!cache) return false;
  const value = cache.arg?.Integer?.ival ?? Number(cache.arg?.Float?.fval ?? NaN);
  return value === 1 || value >= 65536;
}

/** Refusal for one column definition of CREATE TABLE / ALTER TABLE ADD COLUMN. */
function columnRefusal(column: Node): SqlError | undefined {
  const typeName: TypeNameNode | undefined = column.typeName;
  const typeRefusal = typeName ? columnTypeRefusal(typeName) : undefined;
  if (typeRefusal) return typeRefusal;
  for (const c of column.constraints ?? []) {
    const constraint = c.Constraint;
    if (constraint?.contype !== 'CONSTR_IDENTITY') continue;
    if (typeName && !isBigint(typeName)) return dsqlErrors.identityType(formatTypeName(typeName));
    if (!cacheAllowed(constraint.options)) return dsqlErrors.identityCache();
  }
  return undefined;
}

function createTableRefusal(stmt: Node): SqlError | undefined {
  const persistence = stmt.relation?.relpersistence;
  if (persistence === 't') return dsqlErrors.temporaryTable();
  if (persistence === 'u') return dsqlErrors.unloggedTable();
  if (stmt.partbound) return dsqlErrors.createTableClause('PARTITION OF');
  if (stmt.partspec) return dsqlErrors.createTableClause('PARTITION BY');
  if (stmt.inhRelations?.length) return dsqlErrors.createTableClause('INHERITS');
  for (const element of stmt.tableElts ?? []) {
    if (element.ColumnDef) {
      const refusal = columnRefusal(element.ColumnDef);
      if (refusal) return refusal;
    }
  }
  return undefined;
}

/** ALTER TABLE as DSQL takes it: a few forms, constraints only `NOT VALID`, then validated ASYNC. */
function alterTableRefusal(stmt: Node, isAsync: boolean): SqlError | undefined {
  if (stmt.objtype !== 'OBJECT_TABLE') return undefined;
  for (const c of stmt.cmds ?? []) {
    const cmd = c.AlterTableCmd;
    if (!cmd) continue;
    switch (cmd.subtype) {
      case 'AT_AddColumn': {
        const column = cmd.def?.ColumnDef;
        if (column?.constraints?.length) return dsqlErrors.alterTableAddColumnConstraint();
        const refusal = column ? columnRefusal(column) : undefined;
        if (refusal) return refusal;
        break;
      }
      case 'AT_AddConstraint': {
        const constraint = cmd.def?.Constraint;
        const type = constraint?.contype;
        // FOREIGN KEY and CHECK only as NOT VALID; UNIQUE / PRIMARY KEY only by adopting an index.
        if ((type === 'CONSTR_FOREIGN' || type === 'CONSTR_CHECK') && constraint.skip_validation) break;
        if ((type === 'CONSTR_UNIQUE' || type === 'CONSTR_PRIMARY') && constraint.indexname) break;
        return dsqlErrors.alterTableAddConstraint();
      }
      case 'AT_ValidateConstraint':
        if (!isAsync) return dsqlErrors.alterTableValidate();
        break;
      case 'AT_AlterColumnType':
        return dsqlErrors.alterTableSetDataType();
      default:
        break;
    }
  }
  return undefined;
}

/** The isolation level named by BEGIN / SET TRANSACTION options, lower case, if any. */
function isolationLevel(options: Node[] | undefined): string | undefined {
  const option = (options ?? []).find((o: Node) => o.DefElem?.defname === 'transaction_isolation');
  return option?.DefElem?.arg?.A_Const?.sval?.sval;
}

function transactionClass(stmt: Node): StatementClass {
  switch (stmt.kind) {
    case 'TRANS_STMT_BEGIN':
    case 'TRANS_STMT_START': {
      const level = isolationLevel(stmt.options);
      if (level && level !== 'repeatable read') {
        return { kind: 'begin', refusal: dsqlErrors.unsupportedIsolation(level) };
      }
      return { kind: 'begin' };
    }
    case 'TRANS_STMT_COMMIT':
      return { kind: 'commit' };
    case 'TRANS_STMT_ROLLBACK':
      return { kind: 'rollback' };
    case 'TRANS_STMT_SAVEPOINT':
      return { kind: 'other', refusal: dsqlErrors.unsupportedTransactionStatement('SAVEPOINT') };
    case 'TRANS_STMT_RELEASE':
      return { kind: 'other', refusal: dsqlErrors.unsupportedTransactionStatement('RELEASE') };
    case 'TRANS_STMT_ROLLBACK_TO':
      return { kind: 'other', refusal: dsqlErrors.unsupportedTransactionStatement('ROLLBACK TO') };
    case 'TRANS_STMT_PREPARE':
      return { kind: 'other', refusal: dsqlErrors.unsupportedTransactionStatement('PREPARE TRANSACTION') };
    case 'TRANS_STMT_COMMIT_PREPARED':
      return { kind: 'other', refusal: dsqlErrors.unsupportedTransactionStatement('COMMIT PREPARED') };
    case 'TRANS_STMT_ROLLBACK_PREPARED':
      return { kind: 'other', refusal: dsqlErrors.unsupportedTransactionStatement('ROLLBACK PREPARED') };
    default:
      return { kind: 'other' };
  }
}

/** Settings DSQL refuses to change (the transaction's characteristics are fixed). */
const FIXED_SETTINGS = new Set(['default_transaction_isolation', 'transaction_isolation']);

function setRefusal(stmt: Node): SqlError | undefined {
  const name: string | undefined = stmt.name;
  if (!name) return undefined;
  if (name === 'TRANSACTION' || name === 'SESSION CHARACTERISTICS') {
    const level = isolationLevel(stmt.args);
    if (level && level !== 'repeatable read') return dsqlErrors.unsupportedIsolation(level);
    return dsqlErrors.unsupportedSetting(name);
  }
  if (FIXED_SETTINGS.has(name.toLowerCase())) return dsqlErrors.unsupportedSetting(name);
  return undefined;
}

/** Strengths DSQL accepts in `FOR …` locking clauses. */
const ALLOWED_LOCKS = new Set(['LCS_FORUPDATE', 'LCS_FORKEYSHARE']);

/** PostgreSQL's advisory lock functions, which DSQL does not have. */
const ADVISORY_LOCK = /^pg_(try_)?advisory_(xact_)?(lock|unlock)(_shared)?(_all)?$/;

/**
 * The emulator's own helpers in `sys` (see jobs.ts): the proxy calls them in the statements it
 * rewrites, after these checks; DSQL has no such functions, so a client's own call is refused.
 */
const EMULATOR_FUNCTION = /^dsql_local_/;

interface QueryScan {
  badLock: boolean;
  writes: boolean;
  /** The first advisory lock function called, if any. */
  advisory?: string;
  /** The first emulator helper called, if any (qualified as written). */
  internal?: string;
}

/** Walks a query tree for locking clauses, data-modifying CTEs and advisory lock calls. */
function scanQuery(node: Node, found: QueryScan): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) scanQuery(item, found);
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === 'LockingClause' && !ALLOWED_LOCKS.has((value as Node).strength)) found.badLock = true;
    if (key === 'FuncCall' && !found.advisory) {
      const names: Node[] = (value as Node).funcname ?? [];
      const name = String(names[names.length - 1]?.String?.sval ?? '');
      if (ADVISORY_LOCK.test(name)) found.advisory = name;
      if (EMULATOR_FUNCTION.test(name) && !found.internal) found.internal = names.map((n) => String(n?.String?.sval ?? '')).join('.');
    }
    if (key === 'InsertStmt' || key === 'UpdateStmt' || key === 'DeleteStmt' || key === 'MergeStmt') {
      found.writes = true;
    }
    if (value !== null && typeof value === 'object') scanQuery(value, found);
  }
}

function queryClass(node: string, stmt: Node, baseKind: 'read' | 'dml'): StatementClass {
  if (node === 'SelectStmt' && stmt.intoClause) {
    return { kind: 'ddl', refusal: dsqlErrors.unsupportedStatement('CreateTableAs') };
  }
  const found: QueryScan = { badLock: false, writes: false };
  scanQuery(stmt, found);
  const kind = found.writes ? 'dml' : baseKind;
  if (found.internal) return { kind, refusal: dsqlErrors.undefinedFunction(found.internal) };
  if (found.advisory) return { kind, refusal: dsqlErrors.unsupportedFunction(found.advisory) };
  return found.badLock ? { kind, refusal: dsqlErrors.lockingClause() } : { kind };
}

function createFunctionRefusal(stmt: Node): SqlError | undefined {
  const language = (stmt.options ?? []).find((o: Node) => o.DefElem?.defname === 'language')?.DefElem
    ?.arg?.String?.sval as string | undefined;
  if (language === undefined || language.toLowerCase() === 'sql') return undefined;
  return dsqlErrors.functionLanguage(stmt.is_procedure ? 'PROCEDURE' : 'FUNCTION', language);
}

/**
 * Classifies one raw statement (`{ NodeName: {...} }` from libpg-query). `isAsync` says the
 * statement carried DSQL's `ASYNC` keyword (already removed from the text).
 *
 * @example
 * classifyStatement({ TruncateStmt: {} }, false);
 * // → { kind: 'ddl', refusal: { code: '0A000', message: 'unsupported statement: Truncate' } }
 */
export function classifyStatement(raw: Node, isAsync: boolean): StatementClass {
  const node = Object.keys(raw)[0] ?? '';
  const stmt = raw[node] ?? {};
  const kind: StatementKind = NOT_DDL.has(node) ? 'other' : 'ddl';
  if (UNSUPPORTED_STATEMENTS.has(node)) {
    return { kind, refusal: dsqlErrors.unsupportedStatement(statementName(node)) };
  }
  switch (node) {
    case 'SelectStmt':
      return queryClass(node, stmt, 'read');
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
      return queryClass(node, stmt, 'dml');
    case 'CopyStmt':
      return { kind: stmt.is_from ? 'dml' : 'read' };
    case 'TransactionStmt':
      return transactionClass(stmt);
    case 'VariableSetStmt': {
      const refusal = setRefusal(stmt);
      return refusal ? { kind, refusal } : { kind };
    }
    case 'VacuumStmt':
      // ANALYZE is supported (it shows up as a job in sys.jobs); VACUUM is not.
      return stmt.is_vacuumcmd ? { kind, refusal: dsqlErrors.vacuum() } : { kind };
    case 'IndexStmt':
      return isAsync ? { kind } : { kind, refusal: dsqlErrors.createIndexSync() };
    case 'CreateStmt': {
      const refusal = createTableRefusal(stmt);
      return refusal ? { kind, refusal } : { kind };
    }
    case 'AlterTableStmt': {
      const refusal = alterTableRefusal(stmt, isAsync);
      return refusal ? { kind, refusal } : { kind };
    }
    case 'CreateSeqStmt':
      return cacheAllowed(stmt.options) ? { kind } : { kind, refusal: dsqlErrors.sequenceCache() };
    case 'CreateTrigStmt':
      return { kind, refusal: dsqlErrors.createTrigger() };
    case 'CreateEnumStmt':
      return { kind, refusal: dsqlErrors.createType() };
    case 'DefineStmt':
      return stmt.kind === 'OBJECT_TYPE' ? { kind, refusal: dsqlErrors.createType() } : { kind };
    case 'AlterEnumStmt':
      return { kind, refusal: dsqlErrors.alterType() };
    case 'RenameStmt':
      return stmt.renameType === 'OBJECT_TYPE'
        ? { kind, refusal: dsqlErrors.unsupportedObjectIn('RENAME') }
        : { kind };
    case 'DropStmt':
      return stmt.removeType === 'OBJECT_TYPE'
        ? { kind, refusal: dsqlErrors.unsupportedObjectIn('DROP') }
        : { kind };
    case 'CreateFunctionStmt': {
      const refusal = createFunctionRefusal(stmt);
      return refusal ? { kind, refusal } : { kind };
    }
    default:
      return { kind };
  }
}
