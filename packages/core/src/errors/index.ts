/**
 * The public error API (error classes, SQLSTATE classification, the error funnel, redaction),
 * listed once for both entries: `@dsql/core` and `@dsql/core/browser`.
 */
export { redact } from './redact.js';
export {
  DsqlError,
  DsqlConfigError,
  DsqlCredentialsError,
  DsqlTokenError,
  CommitOutcomeUnknownError,
  DsqlTransactionRolledBackError,
  DsqlUnsupportedError,
  DsqlConnectError,
  DsqlTimeoutError,
  DsqlAbortError,
  DsqlConnectionLostError,
  isDsqlError,
  isCommitOutcomeUnknownError,
  type DsqlErrorCode,
  type DsqlErrorOptions,
  type DsqlCredentialsErrorOptions,
} from './errors.js';
export {
  classifyError,
  isOccError,
  isTransientError,
  isConnectionLoss,
  SQLSTATE_MEANINGS,
  type ErrorKind,
  type ErrorClassification,
} from './sqlstate.js';
export { classifyInPlace, type ClassifiedError, type DsqlClassification } from './funnel.js';
