export { dsql, dsqlStats, type DsqlPostgresOptions, type DsqlSql, type DsqlSqlStats } from './dsql.js';
export { transaction, type TransactionResult } from './transaction.js';
export type { ConnectStats } from './session-opener.js';
