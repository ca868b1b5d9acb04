/**
 * `@dsql/kysely`: a Kysely dialect for Amazon Aurora DSQL, with a Migrator that works on DSQL.
 *
 * @example
 * import { Kysely } from 'kysely';
 * import { DsqlDialect, transaction } from '@dsql/kysely';
 *
 * const db = new Kysely<DB>({ dialect: new DsqlDialect({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' }) });
 */
export {
  DsqlDialect,
  type DsqlDialectConfig,
  type DsqlDialectConnectionConfig,
  type DsqlDialectOptions,
  type DsqlDialectPoolConfig,
  type DsqlDialectPostgresConfig,
} from './dialect.js';
export { transaction } from './transaction.js';
export { DsqlAdapter } from './adapter.js';
export { DsqlQueryCompiler, type DsqlQueryCompilerOptions } from './query-compiler.js';
export { DsqlIntrospector } from './introspector.js';
export { DsqlJobError } from '@dsql/core/migrations';
export { resolveMigrationLockConfig, type MigrationLockConfig, type ResolvedMigrationLockConfig } from './migration-lock.js';
export type { PgPoolLike, PgPoolClientLike, PgCursorConstructor } from './pg-source.js';
export type { PostgresSqlLike, PostgresReservedLike, PostgresPendingLike } from './postgres-source.js';
export {
  CommitOutcomeUnknownError,
  DsqlError,
  DsqlTransactionRolledBackError,
  DsqlUnsupportedError,
  isCommitOutcomeUnknownError,
  isDsqlError,
  isOccError,
} from '@dsql/core';
