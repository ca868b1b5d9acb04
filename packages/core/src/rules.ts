/**
 * `@dsql/core/rules`: DSQL's SQL rules as data — data types, functions, statements and clauses,
 * each with the document or recording it comes from — and DSQL's refusal texts. Plain data and
 * small functions, no SQL parser: `@dsql/local`, migration checks and linters apply it to the
 * parse trees they already have.
 *
 * @example
 * import { columnTypeRefusal, unsupportedStatement } from '@dsql/core/rules';
 * columnTypeRefusal({ names: ['money'] })?.message; // 'datatype money not supported'
 * unsupportedStatement('TruncateStmt')?.statement; // 'TRUNCATE'
 */
export { RULE_SOURCES, type RuleSource, type RuleCertainty } from './rules/sources.js';
export {
  DSQL_TYPES,
  SERIAL_TYPES,
  IDENTITY_TYPE,
  MIN_SEQUENCE_CACHE,
  typeRule,
  sequenceCacheAllowed,
  type TypeRule,
  type TypeSupport,
} from './rules/types.js';
export {
  displayTypeName,
  columnTypeRefusal,
  expressionTypeRefusal,
  isIdentityType,
  type NamedType,
} from './rules/type-names.js';
export {
  UNSUPPORTED_FUNCTION_FAMILIES,
  FIXED_SETTINGS,
  unsupportedFunction,
  unsupportedFunctionCall,
  type FunctionFamily,
  type FunctionMatch,
} from './rules/functions.js';
export {
  UNSUPPORTED_STATEMENTS,
  NOT_DDL_STATEMENTS,
  UNSUPPORTED_TRANSACTION_STATEMENTS,
  ISOLATION_LEVEL,
  unsupportedStatement,
  type StatementKind,
  type UnsupportedStatement,
} from './rules/statements.js';
export {
  LOCKING_CLAUSES,
  CREATE_TABLE_CLAUSES,
  CREATE_INDEX_CLAUSES,
  ALTER_TABLE_FORMS,
  INDEX_ACCESS_METHOD,
  alterTableForm,
  type ClauseRule,
} from './rules/clauses.js';
export { dsqlRefusals, FEATURE_NOT_SUPPORTED, type DsqlRefusal, type DsqlRefusalName } from './rules/messages.js';
