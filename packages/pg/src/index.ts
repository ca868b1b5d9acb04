/**
 * `@dsql/pg`: node-postgres `Pool` and `Client` for Aurora DSQL.
 *
 * @example
 * import { DsqlPool } from '@dsql/pg';
 * const pool = new DsqlPool({ host: 'abc…xyz.dsql.us-east-1.on.aws' });
 * await pool.query('SELECT 1');
 */
export { DsqlPool } from './pool.js';
export { DsqlClient, type DsqlPoolClient, type TransactionRetry } from './client.js';
export type { DsqlClientConfig, DsqlPoolConfig } from './config.js';
// err.dsql comes from core's error funnel, the one every @dsql adapter uses.
export { classifyInPlace, type ClassifiedError, type DsqlClassification } from '@dsql/core';
export { dialAddress } from './address-socket.js';
export { assertNoSavepoint } from './savepoint-guard.js';
export {
  CommitOutcomeUnknownError,
  DsqlConnectionLostError,
  DsqlError,
  DsqlTransactionRolledBackError,
  DsqlUnsupportedError,
  classifyError,
  isCommitOutcomeUnknownError,
  isDsqlError,
  isOccError,
} from '@dsql/core';
