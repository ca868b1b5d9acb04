/**
 * `@dsql/drizzle`: Drizzle ORM on Aurora DSQL (node-postgres driver, via `@dsql/pg`).
 * Postgres.js: `@dsql/drizzle/postgres-js`. Migrations: `@dsql/drizzle/migrator`.
 *
 * @example
 * import { drizzle, transaction } from '@dsql/drizzle';
 * const db = drizzle({ connection: { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' } });
 * await transaction(db, (tx) => tx.insert(users).values({ name: 'Ada' }));
 */
export { drizzle, type DsqlDrizzleConfig, type DsqlNodePgDatabase } from './node-postgres.js';
export { transaction, type TransactionRetry, type TransactionConfig, type TransactionOf, type TransactionalDatabase } from './transaction.js';
/** `dsqlStats(db)`: the `DsqlStats` of the pool or `sql` the database runs on (`@dsql/core`'s, the same shape in every adapter). */
export { dsqlStats, type DsqlStats } from '@dsql/core';
export {
  CommitOutcomeUnknownError,
  DsqlError,
  DsqlTransactionRolledBackError,
  DsqlUnsupportedError,
  isCommitOutcomeUnknownError,
  isDsqlError,
  isOccError,
} from '@dsql/core';
