/**
 * `@dsql/core/migrations`: the migration toolkit the ORM adapters stand on — lease locks (DSQL
 * has no advisory locks), statement-by-statement apply with a tracking table and resume after a
 * crash, and the wait for asynchronous index / validation jobs. Driver-agnostic: it runs SQL
 * through a two-method structural session ({@link MigrationSession}) an adapter supplies.
 *
 * @example
 * import { applyMigrations, resolveMigrationRun, type MigrationSession } from '@dsql/core/migrations';
 *
 * const session: MigrationSession = {
 *   query: async (text, params) => ({ rows: (await pool.query(text, params as unknown[])).rows }),
 *   transaction: (fn) => pool.transaction((client) => fn({ query: async (t, p) => ({ rows: (await client.query(t, p as unknown[])).rows }) })),
 * };
 * const run = resolveMigrationRun({}, { caller: 'deploy', migrationsSchema: 'ops', migrationsTable: 'schema_history' });
 * await applyMigrations(session, [{ createdAt: 1, tag: '0001_init', hash: 'h1', steps: [{ sql: 'CREATE TABLE t (id uuid PRIMARY KEY)', job: false }] }], run);
 */
export { quoteIdent, type MigrationRow, type MigrationSql, type MigrationSession, type StatementResult } from './migrations/session.js';
export {
  DsqlJobError,
  MigrationJobError,
  jobIdOf,
  waitForJobSql,
  awaitJob,
  unfinishedJobs,
  type AwaitJobOptions,
} from './migrations/jobs.js';
export {
  waitForLease,
  TableLease,
  RowLease,
  type LeaseAttempt,
  type WaitForLeaseOptions,
  type RowLeaseOptions,
  type DetachedQuery,
} from './migrations/lease.js';
export { readTracking, type TrackingNames, type TrackedMigration } from './migrations/tracking.js';
export {
  applyMigrations,
  resolveMigrationRun,
  MigrationLockError,
  type MigrationStep,
  type MigrationToApply,
  type MigrationRunOptions,
  type ResolvedMigrationRun,
  type MigrationEvent,
  type MigrationResult,
} from './migrations/apply.js';
