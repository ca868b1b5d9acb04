/**
 * `migrate(db, config)`: applies a drizzle-kit migrations folder to Aurora DSQL. The folder is
 * planned and checked here (parser, DSQL rules, rewrites); applying it — statement by statement,
 * tracked and resumable, under a lease lock, jobs awaited — is core's migration toolkit.
 */
import { DsqlConfigError } from '@dsql/core';
import {
  applyMigrations,
  readTracking,
  resolveMigrationRun,
  type MigrationResult,
  type MigrationRunOptions,
} from '@dsql/core/migrations';
import { MigrationCheckError } from './check.js';
import { sessionOf, type MigratableDatabase } from './executor.js';
import { planFolder } from './plan.js';

export { MigrationJobError, type MigrationEvent, type MigrationResult } from '@dsql/core/migrations';

/**
 * Options of `migrate()`.
 *
 * @example
 * const config: MigrationConfig = { migrationsFolder: './drizzle', lockLeaseSeconds: 300 };
 */
export interface MigrationConfig extends MigrationRunOptions {
  /** The drizzle-kit output folder (with `meta/_journal.json`). */
  migrationsFolder: string;
  /** Tracking table name; default `__drizzle_migrations` (the lock table is `<name>_lock`). */
  migrationsTable?: string;
  /** Schema of the tracking tables; default `drizzle`. */
  migrationsSchema?: string;
}

/**
 * Applies the pending migrations of a drizzle-kit folder to Aurora DSQL, in journal order.
 * `db` is a Drizzle database from either driver of this package (or any Drizzle Postgres database).
 *
 * - **Checked first**: every pending statement is parsed and checked against DSQL's rules; if any
 *   would be refused, `MigrationCheckError` lists them (file, line, statement, fix) and nothing runs.
 * - **Rewritten for DSQL**: `CREATE INDEX` → `CREATE INDEX ASYNC` (awaited in `sys.jobs`); foreign
 *   keys and checks added to existing tables → `NOT VALID`, then `ALTER TABLE ASYNC … VALIDATE`;
 *   `ADD CONSTRAINT … UNIQUE` → a unique index built ASYNC and adopted. Multi-statement chunks are
 *   split with the PostgreSQL parser.
 * - **One statement per transaction**, recorded in a DSQL-compatible tracking table
 *   (`drizzle.__drizzle_migrations`, no SERIAL) before and after it runs: an interrupted run
 *   resumes at the statement it stopped at. The one statement whose outcome is unknown is run
 *   again, and an "already exists" / "does not exist" answer to it counts as applied.
 * - **One process at a time**: a lease lock (`<table>_lock`), renewed as the run goes; other
 *   `migrate()` calls wait for it (`lockTimeoutSeconds`), then find the work done.
 * - Applying again is a no-op.
 *
 * @example
 * import { drizzle } from '@dsql/drizzle';
 * import { migrate } from '@dsql/drizzle/migrator';
 *
 * const db = drizzle({ connection: { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' } });
 * const { applied } = await migrate(db, { migrationsFolder: './drizzle' });
 * console.warn('applied', applied);
 * await db.$client.end();
 */
export async function migrate(db: MigratableDatabase, config: MigrationConfig): Promise<MigrationResult> {
  if (config === null || typeof config !== 'object' || typeof config.migrationsFolder !== 'string') {
    throw new DsqlConfigError('migrationsFolder', JSON.stringify(config?.migrationsFolder), 'the path of a drizzle-kit migrations folder');
  }
  const run = resolveMigrationRun(config, { caller: 'migrate()', migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' });
  const session = sessionOf(db, run.retry);

  const plan = await planFolder(config.migrationsFolder);
  // Read-only until the check has passed: nothing is created for a folder DSQL would refuse.
  const before = await readTracking(session, run.names, run.retry);
  const pending = plan.migrations.filter((m) => !before.get(m.file.when)?.finished);
  const pendingFiles = new Set(pending.map((m) => m.file.file));
  const refused = plan.problems.filter((p) => p.severity === 'error' && pendingFiles.has(p.file));
  if (refused.length) throw new MigrationCheckError(refused);
  if (pending.length === 0) return { applied: [], statements: 0 };

  const migrations = plan.migrations.map(({ file, steps }) => ({ createdAt: file.when, tag: file.tag, hash: file.hash, steps }));
  return applyMigrations(session, migrations, run);
}
