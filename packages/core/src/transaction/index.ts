/**
 * Everything transaction-shaped, once for every adapter: the runner and its retry default
 * (runner.ts), BEGIN … COMMIT / ROLLBACK on one connection (connection-transaction.ts), the end
 * of a transaction (commit-outcome.ts), what DSQL refuses in one
 * (refusals.ts), and the nested-transaction check (scope.ts, nested.ts).
 */
export {
  runTransaction,
  runManagedTransaction,
  retryTransaction,
  transactionRetryOptions,
  isRetryableTransactionError,
  type TransactionDriver,
  type ManagedAttempt,
  type TransactionRetryPolicy,
} from './runner.js';
export {
  ConnectionTransaction,
  beginStatement,
  transactionStatements,
  type TransactionAccessMode,
  type TransactionStatements,
} from './connection-transaction.js';
export { assertRepeatableRead, savepointError, assertNoSavepointStatement, nestedTransactionHandleError } from './refusals.js';
export {
  runInTransactionScope,
  isInTransactionScope,
  nestedTransactionError,
  type NestedTransactionWording,
} from './scope.js';
export { NestedTransactionGuard, resolveDetectNestedTransactions } from './nested.js';
