/**
 * DSQL's refusals, word for word as a real cluster answers them (see `/work/shared/dsql/golden/`).
 * Every refusal the rules produce is built here, so the texts live in one place.
 */
import type { SqlError } from './hook.js';

/** SQLSTATE 0A000 `feature_not_supported`, the code of nearly every DSQL refusal. */
export const FEATURE_NOT_SUPPORTED = '0A000';

const refusal = (message: string, code = FEATURE_NOT_SUPPORTED): SqlError => ({ code, message });

const CACHE_RULE = 'please define CACHE greater than or equal to 65536 or equal to 1';

/**
 * The texts DSQL answers with; functions take the part of the statement the text names.
 *
 * @example
 * dsqlErrors.datatype('money'); // { code: '0A000', message: 'datatype money not supported' }
 */
export const dsqlErrors = {
  multipleDdl: () => refusal('multiple ddl statements not supported in a transaction'),
  ddlAndDml: () => refusal('ddl and dml are not supported in the same transaction'),
  rowLimit: () => refusal('transaction row limit exceeded', '54000'),
  /** `Truncate`, `CreateExtension`, `Listen`, …: the parse node's name without `Stmt`. */
  unsupportedStatement: (node: string) => refusal(`unsupported statement: ${node}`),
  unsupportedTransactionStatement: (what: string) => refusal(`unsupported transaction statement: ${what}`),
  unsupportedIsolation: (level: string) => refusal(`Unsupported isolation level: ${level.toUpperCase()}`),
  unsupportedSetting: (name: string) => refusal(`setting configuration parameter "${name}" not supported`),
  createIndexSync: () => refusal('unsupported mode. please use CREATE INDEX ASYNC.'),
  sequenceCache: () =>
    refusal(`CREATE SEQUENCE is not supported without an explicit cache size. ${CACHE_RULE}`),
  identityCache: () =>
    refusal(`identity column is not supported without an explicit cache size. ${CACHE_RULE}`),
  identityType: (type: string) =>
    refusal(`datatype ${type} not supported, identity column type must be bigint`),
  datatype: (type: string) => refusal(`datatype ${type} not supported`),
  /** PostgreSQL's own 42704, because DSQL has no `serial` pseudo-types at all. */
  typeDoesNotExist: (name: string) => refusal(`type "${name}" does not exist`, '42704'),
  temporaryTable: () => refusal('TEMPORARY or TEMP table not supported for CREATE TABLE'),
  unloggedTable: () => refusal('UNLOGGED table not supported for CREATE TABLE'),
  /** Partitions and inheritance: documented as unsupported, text modelled on the two above. */
  createTableClause: (clause: 'PARTITION BY' | 'PARTITION OF' | 'INHERITS') =>
    refusal(`${clause} not supported for CREATE TABLE`),
  createTrigger: () => refusal('CREATE TRIGGER not supported'),
  createType: () => refusal('CREATE TYPE not supported'),
  alterType: () => refusal('ALTER TYPE not supported'),
  unsupportedObjectIn: (statement: 'RENAME' | 'DROP') =>
    refusal(`unsupported object in ${statement} statement`),
  vacuum: () => refusal('unsupported VACUUM statement'),
  functionLanguage: (kind: 'FUNCTION' | 'PROCEDURE', language: string) =>
    refusal(`CREATE ${kind} with language ${language} not supported`),
  /**
   * PostgreSQL's own 42883 for a function that does not exist (the emulator's helpers, which DSQL
   * has not); PostgreSQL would also list the argument types, unknown before they are resolved.
   */
  undefinedFunction: (name: string) => refusal(`function ${name} does not exist`, '42883'),
  /** As reported by golang-migrate users for `pg_advisory_lock` (no recording yet). */
  unsupportedFunction: (name: string) => refusal(`function ${name} not supported`),
  lockingClause: () =>
    refusal('locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported'),
  alterTableAddConstraint: () => refusal('unsupported ALTER TABLE ADD CONSTRAINT statement'),
  alterTableAddColumnConstraint: () => refusal('ALTER TABLE ADD COLUMN with constraint not supported'),
  alterTableValidate: () => refusal('unsupported ALTER TABLE VALIDATE CONSTRAINT statement'),
  alterTableSetDataType: () =>
    refusal('unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement'),
} as const;
