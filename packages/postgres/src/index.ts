/**
 * `@dsql/postgres`: Postgres.js for Aurora DSQL.
 *
 * @example
 * import { dsql, transaction } from '@dsql/postgres';
 * const sql = dsql({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' });
 * await transaction(sql, (tx) => tx`update counters set n = n + 1 where id = ${1}`);
 */
export { dsql, dsqlStats, type DsqlPostgresOptions, type DsqlSql, type DsqlSqlStats } from './dsql.js';
export { transaction, type TransactionResult } from './transaction.js';
export type { ConnectStats } from './dsql.js';
export {
  CommitOutcomeUnknownError,
  DsqlConnectError,
  DsqlError,
  DsqlUnsupportedError,
  classifyError,
  isCommitOutcomeUnknownError,
  isDsqlError,
  isOccError,
  isTransientError,
  type DsqlConnectionOptions,
  type ErrorClassification,
  type RetryOptions,
} from '@dsql/core';
