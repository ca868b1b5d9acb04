import { DsqlConfigError } from '@dsql/core';
import { RowLease, type DetachedQuery, type MigrationRow, type MigrationSql } from '@dsql/core/migrations';
import { CompiledQuery, type Kysely, type MigrationLockOptions } from 'kysely';

/**
 * How the Migrator's lock behaves on DSQL (which has no advisory locks).
 *
 * @example
 * new DsqlDialect({ ...options, migrationLock: { leaseSeconds: 600, acquireTimeoutMs: 30 * 60_000 } });
 */
export interface MigrationLockConfig {
  /**
   * How long a taken lock stays valid without renewal (default 300 s). While migrations run,
   * the lease is renewed every third of this on a separate connection of the pool (with a pool
   * of one connection there is none to spare: make the lease longer than your migrations); a
   * lock whose holder died (no renewal) is taken over once its lease has run out.
   */
  leaseSeconds?: number;
  /** How long a Migrator waits for a lock held by another (default 15 minutes); then it fails. */
  acquireTimeoutMs?: number;
  /** Pause between two looks at a held lock (default 500 ms, with ±50 % jitter). */
  pollIntervalMs?: number;
}

/**
 * {@link MigrationLockConfig} with every field filled in.
 *
 * @example
 * const lock: ResolvedMigrationLockConfig = resolveMigrationLockConfig({ leaseSeconds: 600 });
 */
export type ResolvedMigrationLockConfig = Readonly<Required<MigrationLockConfig>>;

function checkInteger(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  throw new DsqlConfigError(`migrationLock.${field}`, String(value), `an integer from ${min} to ${max}`);
}

/**
 * Validates `migrationLock` options and fills in defaults.
 *
 * @example
 * resolveMigrationLockConfig({ leaseSeconds: 60 }) // { leaseSeconds: 60, acquireTimeoutMs: 900000, pollIntervalMs: 500 }
 */
export function resolveMigrationLockConfig(config: MigrationLockConfig | undefined): ResolvedMigrationLockConfig {
  if (config !== undefined && (typeof config !== 'object' || config === null)) {
    throw new DsqlConfigError('migrationLock', String(config), '{ leaseSeconds?, acquireTimeoutMs?, pollIntervalMs? }');
  }
  return Object.freeze({
    leaseSeconds: checkInteger('leaseSeconds', config?.leaseSeconds, 300, 3, 86_400),
    acquireTimeoutMs: checkInteger('acquireTimeoutMs', config?.acquireTimeoutMs, 15 * 60_000, 0, 86_400_000),
    pollIntervalMs: checkInteger('pollIntervalMs', config?.pollIntervalMs, 500, 1, 600_000),
  });
}

/**
 * The lease of one Migrator run on Kysely's own lock row (`kysely_migration_lock`, id
 * `migration_lock`, integer `is_locked`): core's `RowLease` (0 when free, else the second at
 * which the holder's lease runs out), with this package's option names in its errors.
 *
 * @example
 * const lease = migrationLease(options, resolveMigrationLockConfig({}), detached);
 * await lease.acquire(runnerOf(db));
 */
export function migrationLease(options: MigrationLockOptions, config: ResolvedMigrationLockConfig, detached: DetachedQuery | undefined): RowLease {
  const { lockTableSchema, lockTable, lockRowId } = options;
  return new RowLease({
    table: lockTableSchema ? [lockTableSchema, lockTable] : [lockTable],
    rowId: lockRowId,
    ...config,
    detached,
    timeoutError: () =>
      new Error(
        `@dsql/kysely: the migration lock (${lockTable}, row ${lockRowId}) is held by another ` +
          `migrator and was not released within migrationLock.acquireTimeoutMs (${config.acquireTimeoutMs} ms). ` +
          `A holder that died leaves a lease that runs out after migrationLock.leaseSeconds (${config.leaseSeconds} s).`,
      ),
    lostError: (until) =>
      new Error(
        `@dsql/kysely: the migration lock's lease (until ${until.toISOString()}) ran out and was taken by another migrator while ` +
          'this one was still running, so migrations may have run concurrently. Check the migration table, and raise ' +
          'migrationLock.leaseSeconds if renewals could not reach the server in time.',
      ),
  });
}

/**
 * Core's migration runner over a Kysely instance (the Migrator's connection-bound `db`).
 *
 * @example
 * const { rows } = await runnerOf(db).query('select 1 as one');
 */
export function runnerOf(db: Kysely<unknown>): MigrationSql {
  return { query: async (text, params = []) => ({ rows: (await db.executeQuery<MigrationRow>(CompiledQuery.raw(text, [...params]))).rows }) };
}
