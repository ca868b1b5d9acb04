/**
 * `@dsql/drizzle/migrator`: Drizzle migrations on Aurora DSQL — `migrate()` applies a
 * drizzle-kit folder statement by statement (resumable, locked, `CREATE INDEX ASYNC`), and
 * `checkMigrations()` lints a folder offline (also the `dsql-drizzle check` command).
 *
 * @example
 * import { migrate } from '@dsql/drizzle/migrator';
 * await migrate(db, { migrationsFolder: './drizzle' });
 */
export {
  migrate,
  MigrationJobError,
  type MigrationConfig,
  type MigrationEvent,
  type MigrationResult,
} from './migrations/migrate.js';
export { checkMigrations, formatProblems, MigrationCheckError, type MigrationCheckReport } from './migrations/check.js';
export type { MigrationProblem } from './migrations/plan.js';
export { MigrationLockError } from '@dsql/core/migrations';
export type { MigratableDatabase } from './migrations/executor.js';
