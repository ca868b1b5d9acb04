/**
 * DSQL's refusals, word for word as a real cluster answers them where one was recorded (see
 * `RULE_SOURCES.recordings`), and in the same style where none was (the guessed texts are listed
 * in `@dsql/local`'s README). Every refusal any package produces is built here.
 */

/** A refusal as a server answers it: SQLSTATE and message. */
export interface DsqlRefusal {
  readonly code: string;
  readonly message: string;
}

/** SQLSTATE 0A000 `feature_not_supported`, the code of nearly every DSQL refusal. */
export const FEATURE_NOT_SUPPORTED = '0A000';

const refusal = (message: string, code = FEATURE_NOT_SUPPORTED): DsqlRefusal => ({ code, message });

const CACHE_RULE = 'please define CACHE greater than or equal to 65536 or equal to 1';

/**
 * The texts DSQL answers with; functions take the part of the statement the text names.
 *
 * @example
 * dsqlRefusals.datatype('money'); // { code: '0A000', message: 'datatype money not supported' }
 */
export const dsqlRefusals = {
  multipleDdl: () => refusal('multiple ddl statements not supported in a transaction'),
  ddlAndDml: () => refusal('ddl and dml are not supported in the same transaction'),
  rowLimit: () => refusal('transaction row limit exceeded', '54000'),
  /** `Truncate`, `CreateExtension`, `Listen`, …: the parse node's name without `Stmt`. */
  unsupportedStatement: (node: string) => refusal(`unsupported statement: ${node}`),
  unsupportedTransactionStatement: (what: string) => refusal(`unsupported transaction statement: ${what}`),
  unsupportedIsolation: (level: string) => refusal(`Unsupported isolation level: ${level.toUpperCase()}`),
  unsupportedSetting: (name: string) => refusal(`setting configuration parameter "${name}" not supported`),
  createIndexSync: () => refusal('unsupported mode. please use CREATE INDEX ASYNC.'),
  /** Index options DSQL documents as unsupported (`ASC` / `DESC`, `CONCURRENTLY`; guessed text). */
  createIndexOption: (option: string) => refusal(`${option} not supported for CREATE INDEX`),
  /** An index access method other than btree (guessed text). */
  indexAccessMethod: (method: string) => refusal(`index access method ${method} not supported`),
  sequenceCache: () =>
    refusal(`CREATE SEQUENCE is not supported without an explicit cache size. ${CACHE_RULE}`),
  identityCache: () =>
    refusal(`identity column is not supported without an explicit cache size. ${CACHE_RULE}`),
  identityType: (type: string) =>
    refusal(`datatype ${type} not supported, identity column type must be bigint`),
  /** A sequence of another type than bigint (guessed text, modelled on the identity one). */
  sequenceType: (type: string) => refusal(`datatype ${type} not supported, sequence type must be bigint`),
  datatype: (type: string) => refusal(`datatype ${type} not supported`),
  /** PostgreSQL's own 42704, because DSQL has no `serial` pseudo-types at all. */
  typeDoesNotExist: (name: string) => refusal(`type "${name}" does not exist`, '42704'),
  temporaryTable: () => refusal('TEMPORARY or TEMP table not supported for CREATE TABLE'),
  unloggedTable: () => refusal('UNLOGGED table not supported for CREATE TABLE'),
  /** Documented CREATE TABLE clauses DSQL lacks; the text follows the two recorded above. */
  createTableClause: (clause: string) => refusal(`${clause} not supported for CREATE TABLE`),
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
  /** As reported by golang-migrate users for `pg_advisory_lock`; used for every function DSQL lacks. */
  unsupportedFunction: (name: string) => refusal(`function ${name} not supported`),
  lockingClause: () =>
    refusal('locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported'),
  alterTableAddConstraint: () => refusal('unsupported ALTER TABLE ADD CONSTRAINT statement'),
  alterTableAddColumnConstraint: () => refusal('ALTER TABLE ADD COLUMN with constraint not supported'),
  alterTableValidate: () => refusal('unsupported ALTER TABLE VALIDATE CONSTRAINT statement'),
  alterTableSetDataType: () =>
    refusal('unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement'),
  /** Any other ALTER TABLE form DSQL lacks, named like the recorded ones (`ALTER COLUMN ... SET DEFAULT`). */
  alterTableForm: (form: string) => refusal(`unsupported ALTER TABLE ${form} statement`),
} as const;

/** The name of one of DSQL's refusal texts. */
export type DsqlRefusalName = keyof typeof dsqlRefusals;
