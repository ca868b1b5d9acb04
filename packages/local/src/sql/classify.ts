/**
 * One parsed statement → what DSQL makes of it: its kind for the transaction rules (DDL, DML,
 * transaction control, …) and the refusal DSQL answers with, if any. Pure; reads the
 * libpg-query JSON tree (PostgreSQL 17 grammar, a superset of what DSQL 16 accepts). What DSQL
 * takes is data in `@dsql/core/rules`; this module and its helpers only read the tree.
 */
import {
  FIXED_SETTINGS,
  ISOLATION_LEVEL,
  NOT_DDL_STATEMENTS,
  UNSUPPORTED_TRANSACTION_STATEMENTS,
  unsupportedStatement,
  type StatementKind,
} from '@dsql/core/rules';
import type { SqlError } from './hook.js';
import { alterTableRefusal, createFunctionRefusal, createTableRefusal, indexRefusal, sequenceRefusal } from './ddl-checks.js';
import { expressionRefusal, scanExpressions, type ExpressionScan } from './expression-scan.js';
import { dsqlErrors } from './messages.js';

export type { StatementKind };

/** What the rules need to know about one statement. */
export interface StatementClass {
  kind: StatementKind;
  refusal?: SqlError;
}

// The JSON tree is untyped here on purpose: @pgsql/types describes it, but the rules read a
// handful of fields and treat everything else as opaque.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = any;

/** The node's name as DSQL prints it in `unsupported statement: …`. */
const statementName = (node: string): string => node.replace(/Stmt$/, '');

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
      if (level && level !== ISOLATION_LEVEL) return { kind: 'begin', refusal: dsqlErrors.unsupportedIsolation(level) };
      return { kind: 'begin' };
    }
    case 'TRANS_STMT_COMMIT':
      return { kind: 'commit' };
    case 'TRANS_STMT_ROLLBACK':
      return { kind: 'rollback' };
    default: {
      const refused = UNSUPPORTED_TRANSACTION_STATEMENTS[stmt.kind];
      return refused ? { kind: 'other', refusal: dsqlErrors.unsupportedTransactionStatement(refused) } : { kind: 'other' };
    }
  }
}

function setRefusal(stmt: Node): SqlError | undefined {
  const name: string | undefined = stmt.name;
  if (!name) return undefined;
  if (name === 'TRANSACTION' || name === 'SESSION CHARACTERISTICS') {
    const level = isolationLevel(stmt.args);
    if (level && level !== ISOLATION_LEVEL) return dsqlErrors.unsupportedIsolation(level);
    return dsqlErrors.unsupportedSetting(name);
  }
  if (FIXED_SETTINGS.has(name.toLowerCase())) return dsqlErrors.unsupportedSetting(name);
  return undefined;
}

/** The refusal specific to this statement's kind, checked before its expressions. */
function statementRefusal(node: string, stmt: Node, isAsync: boolean): SqlError | undefined {
  switch (node) {
    case 'VariableSetStmt':
      return setRefusal(stmt);
    case 'VacuumStmt':
      // ANALYZE is supported (it shows up as a job in sys.jobs); VACUUM is not.
      return stmt.is_vacuumcmd ? dsqlErrors.vacuum() : undefined;
    case 'IndexStmt':
      return indexRefusal(stmt, isAsync);
    case 'CreateStmt':
      return createTableRefusal(stmt);
    case 'AlterTableStmt':
      return alterTableRefusal(stmt, isAsync);
    case 'CreateSeqStmt':
      return sequenceRefusal(stmt);
    case 'CreateTrigStmt':
      return dsqlErrors.createTrigger();
    case 'CreateEnumStmt':
      return dsqlErrors.createType();
    case 'DefineStmt':
      return stmt.kind === 'OBJECT_TYPE' ? dsqlErrors.createType() : undefined;
    case 'AlterEnumStmt':
      return dsqlErrors.alterType();
    case 'RenameStmt':
      return stmt.renameType === 'OBJECT_TYPE' ? dsqlErrors.unsupportedObjectIn('RENAME') : undefined;
    case 'DropStmt':
      return stmt.removeType === 'OBJECT_TYPE' ? dsqlErrors.unsupportedObjectIn('DROP') : undefined;
    case 'CreateFunctionStmt':
      return createFunctionRefusal(stmt);
    default:
      return undefined;
  }
}

/** The statement's kind before its contents are looked at. */
function baseKind(node: string, stmt: Node): StatementKind {
  switch (node) {
    case 'SelectStmt':
      return stmt.intoClause ? 'ddl' : 'read';
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
      return 'dml';
    case 'CopyStmt':
      return stmt.is_from ? 'dml' : 'read';
    default:
      return NOT_DDL_STATEMENTS.has(node) ? 'other' : 'ddl';
  }
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
  if (node === 'TransactionStmt') return transactionClass(stmt);
  let kind = baseKind(node, stmt);
  if (unsupportedStatement(node)) return { kind, refusal: dsqlErrors.unsupportedStatement(statementName(node)) };
  if (node === 'SelectStmt' && stmt.intoClause) {
    return { kind, refusal: dsqlErrors.unsupportedStatement('CreateTableAs') };
  }
  const own = statementRefusal(node, stmt, isAsync);
  if (own) return { kind, refusal: own };
  const found: ExpressionScan = { writes: false };
  scanExpressions(stmt, found);
  // A data-modifying CTE makes a query a write.
  if (found.writes && kind === 'read') kind = 'dml';
  const refusal = expressionRefusal(found);
  return refusal ? { kind, refusal } : { kind };
}
