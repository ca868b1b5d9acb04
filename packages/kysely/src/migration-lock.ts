import { DsqlConfigError, isOccError, sleep, withRetry } from '@dsql/core';
import { sql, type Kysely, type MigrationLockOptions, type RawBuilder } from 'kysely';

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
 * Runs a compiled statement on a connection of its own (not the Migrator's), or answers
 * `undefined` without running it when no connection could be had within `acquireTimeoutMs`
 * (a pool with `max: 1` has none to spare while the Migrator holds its connection).
 */
export type DetachedRunner = (
  query: { sql: string; parameters: readonly unknown[] },
  acquireTimeoutMs: number,
) => Promise<Record<string, unknown>[] | undefined>;

/**
 * The server's clock in whole seconds since 2023-11-14 (Unix time 1,700,000,000): every migrator
 * compares against the same clock, and the value fits Kysely's `integer` lock column until 2091
 * (plain Unix seconds would overflow it in 2038).
 */
const NOW = sql`(floor(extract(epoch from now())) - 1700000000)::integer`;

/**
 * One held migration lock: Kysely's lock row (`kysely_migration_lock`, id `migration_lock`)
 * whose integer `is_locked` is 0 when free, else the second (server clock, see `NOW`) at which
 * the holder's lease runs out. That value doubles as the holder's proof of ownership.
 *
 * Every step is one autocommit statement, safe under DSQL's optimistic concurrency: taking the
 * lock is a conditional UPDATE (`… WHERE is_locked = 0 OR is_locked < now`); when two migrators
 * race for it, one commits and the other fails with 40001 (retried, then sees the lock taken).
 */
export class MigrationLease {
  readonly #options: MigrationLockOptions;
  readonly #config: ResolvedMigrationLockConfig;
  readonly #detached: DetachedRunner | undefined;
  #expiresAt = 0;
  #lost = false;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> = Promise.resolve();

  constructor(options: MigrationLockOptions, config: ResolvedMigrationLockConfig, detached: DetachedRunner | undefined) {
    this.#options = options;
    this.#config = config;
    this.#detached = detached;
  }

  get #table(): RawBuilder<unknown> {
    const { lockTableSchema, lockTable } = this.#options;
    return lockTableSchema ? sql.id(lockTableSchema, lockTable) : sql.id(lockTable);
  }

  /** Takes the lock (waiting while another holds a live lease), then keeps renewing it. */
  async acquire(db: Kysely<unknown>): Promise<void> {
    const deadline = Date.now() + this.#config.acquireTimeoutMs;
    const take = sql<{ is_locked: number }>`update ${this.#table} set is_locked = ${NOW} + ${this.#config.leaseSeconds}
      where id = ${this.#options.lockRowId} and (is_locked = 0 or is_locked < ${NOW}) returning is_locked`;
    for (;;) {
      // A conflict means another migrator touched the row at the same moment: look again.
      const { rows } = await withRetry(() => take.execute(db), { retryOn: isOccError, maxElapsedMs: 60_000 });
      if (rows[0]) {
        this.#expiresAt = Number(rows[0].is_locked);
        this.#startRenewing(db);
        return;
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `@dsql/kysely: the migration lock (${this.#options.lockTable}, row ${this.#options.lockRowId}) is held by another ` +
            `migrator and was not released within migrationLock.acquireTimeoutMs (${this.#config.acquireTimeoutMs} ms). ` +
            `A holder that died leaves a lease that runs out after migrationLock.leaseSeconds (${this.#config.leaseSeconds} s).`,
        );
      }
      const pause = this.#config.pollIntervalMs * (0.5 + Math.random());
      await sleep(Math.max(1, Math.min(pause, deadline - Date.now())));
    }
  }

  /** Stops renewing and frees the lock, if it is still ours. */
  async release(db: Kysely<unknown>): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
    if (this.#expiresAt === 0) return;
    const free = sql`update ${this.#table} set is_locked = 0 where id = ${this.#options.lockRowId} and is_locked = ${this.#expiresAt}`;
    const result = await withRetry(() => free.execute(db), { retryOn: isOccError, maxElapsedMs: 60_000 });
    const ours = this.#expiresAt;
    this.#expiresAt = 0;
    if (this.#lost || result.numAffectedRows === 0n) {
      throw new Error(
        `@dsql/kysely: the migration lock's lease (until ${new Date((ours + 1_700_000_000) * 1000).toISOString()}) ran out and was taken by another migrator while ` +
          'this one was still running, so migrations may have run concurrently. Check the migration table, and raise ' +
          'migrationLock.leaseSeconds if renewals could not reach the server in time.',
      );
    }
  }

  #startRenewing(db: Kysely<unknown>): void {
    if (!this.#detached) return;
    const runner = this.#detached;
    const every = (this.#config.leaseSeconds * 1000) / 3;
    this.#timer = setInterval(() => {
      this.#renewing = this.#renewing.then(async () => {
        if (this.#lost || this.#expiresAt === 0) return;
        const renew = sql<{ is_locked: number }>`update ${this.#table} set is_locked = ${NOW} + ${this.#config.leaseSeconds}
          where id = ${this.#options.lockRowId} and is_locked = ${this.#expiresAt} returning is_locked`.compile(db);
        try {
          // The wait for a connection is bounded, so release() (which awaits this) cannot hang on
          // a pool whose only connection is the Migrator's own.
          const rows = await withRetry(() => runner(renew, every / 2), { retryOn: isOccError, maxElapsedMs: every });
          if (rows === undefined) return; // no connection to spare: try again at the next tick
          if (rows[0]) this.#expiresAt = Number(rows[0]['is_locked']);
          else this.#lost = true;
        } catch {
          // A failed renewal is tried again at the next tick; the lease covers two missed ticks.
        }
      });
    }, every);
    this.#timer.unref();
  }
}
