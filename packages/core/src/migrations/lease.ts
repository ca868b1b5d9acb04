/**
 * Migration locks on DSQL. DSQL has no advisory locks and no lock waits, so a lock is a lease:
 * a row whose expiry the holder keeps pushing forward, written with ordinary statements that
 * OCC serialises (two writers racing for it conflict at COMMIT and one loses, 40001). A holder
 * that dies stops renewing; once its lease has run out the next one takes over.
 *
 * Two row shapes exist, for two kinds of callers:
 * - {@link TableLease}: the toolkit's own lock table (`id`, `holder`, `expires_at`), renewed
 *   inside the caller's bookkeeping transactions, so a run that lost its lease stops before it
 *   records anything ({@link applyMigrations} uses it).
 * - {@link RowLease}: a lock row an ORM's migrator already owns whose one integer column is
 *   0 when free (Kysely's `kysely_migration_lock.is_locked`, Knex's has the same shape): the
 *   expiry itself goes into that column, renewed by a timer on a connection of its own.
 * Both wait for a held lock the same way ({@link waitForLease}).
 */
import { isCommitOutcomeUnknownError } from '../errors/errors.js';
import { errorChain } from '../errors/error-chain.js';
import { withRetry } from '../retry.js';
import { isOccError } from '../errors/sqlstate.js';
import { sleep } from '../timers.js';
import { isRetryableTransactionError } from '../transaction/runner.js';
import { isTrue, quoteIdent, type MigrationRow, type MigrationSession, type MigrationSql } from './session.js';

/** One attempt to take a lease: taken (perhaps from a holder whose lease ran out), or held by another. */
export type LeaseAttempt = { acquired: true; tookOverFrom?: string } | { acquired: false; holder: string; expiresAt: string };

/** Options of {@link waitForLease}. */
export interface WaitForLeaseOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** The pause before the next look at a held lease (called once per pause). */
  nextDelayMs: () => number;
  /** Called once, the first time the lease is found held by another. */
  onWait?: (held: LeaseAttempt & { acquired: false }) => void;
  /** The error to fail with once `timeoutMs` has passed. */
  timeoutError: (held: LeaseAttempt & { acquired: false }) => Error;
}

/**
 * Tries `take` until it answers `acquired`, pausing `nextDelayMs()` between looks (never past
 * the deadline); rejects with `timeoutError(…)` once `timeoutMs` has passed.
 *
 * @example
 * await waitForLease(() => lease.tryTake(session), { timeoutMs: 600_000, nextDelayMs: () => 500, timeoutError: () => new Error('busy') });
 */
export async function waitForLease(
  take: () => Promise<LeaseAttempt>,
  options: WaitForLeaseOptions,
): Promise<LeaseAttempt & { acquired: true }> {
  const deadline = Date.now() + options.timeoutMs;
  let waiting = false;
  for (;;) {
    const attempt = await take();
    if (attempt.acquired) return attempt;
    const left = deadline - Date.now();
    if (left <= 0) throw options.timeoutError(attempt);
    if (!waiting) options.onWait?.(attempt);
    waiting = true;
    await sleep(Math.max(1, Math.min(options.nextDelayMs(), left)));
  }
}

/**
 * Errors of two processes creating the same table or row at once; trying again settles them.
 * `CREATE TABLE IF NOT EXISTS` racing another one can fail on any catalog entry it adds: the
 * row type (42710 `type … already exists`), the relation (42P07), a catalog index (23505).
 */
export function isCreateRace(err: unknown): boolean {
  const code = errorChain(err).find((e) => e.sqlstate !== undefined)?.sqlstate;
  return code === '23505' || code === '42P07' || code === '42P06' || code === '42710';
}

/**
 * Taking and giving back a table lease are idempotent (the holder is unique to the run), so
 * they are retried after a lost connection too, and run again after a COMMIT whose answer was
 * lost (it may have taken or freed the lock already; core's retry never repeats such a COMMIT,
 * since it cannot know the work is idempotent), up to this many times in all.
 */
const UNKNOWN_OUTCOME_RUNS = 3;

async function idempotentTransaction<T>(session: MigrationSession, fn: (tx: MigrationSql) => Promise<T>, retryOn: (err: unknown) => boolean): Promise<T> {
  for (let run = 1; ; run++) {
    try {
      return await session.transaction(fn, (err) => retryOn(err) || isRetryableTransactionError(err));
    } catch (err) {
      if (!isCommitOutcomeUnknownError(err) || run >= UNKNOWN_OUTCOME_RUNS) throw err;
    }
  }
}

/** `now()` plus the lease (milliseconds in parameter `$n`). */
const leaseEnd = (n: number): string => `now() + $${n}::integer * interval '1 millisecond'`;

/**
 * A lease in a lock table of the toolkit's own: one row, `id = 1`, `holder` (unique to the run)
 * and `expires_at`. Taking it reads the row `FOR UPDATE` and inserts or takes it over in one
 * short transaction; every renewal checks the holder, so a run whose lease was taken over learns
 * it at its next write.
 *
 * @example
 * const lease = new TableLease(['drizzle', '__drizzle_migrations_lock'], 'host/42/ab12cd34', 120_000);
 * await waitForLease(() => lease.tryTake(session), { timeoutMs, nextDelayMs: () => 500, timeoutError });
 */
export class TableLease {
  /** The quoted, qualified lock table. */
  readonly table: string;

  constructor(
    table: readonly string[],
    readonly holder: string,
    readonly leaseMs: number,
  ) {
    this.table = quoteIdent(...table);
  }

  /** The lock table's DDL (`IF NOT EXISTS`). */
  createTableSql(): string {
    return `CREATE TABLE IF NOT EXISTS ${this.table} (
      id integer PRIMARY KEY,
      holder text NOT NULL,
      expires_at timestamptz NOT NULL
    )`;
  }

  /**
   * Takes the lease if it is free, expired or already ours (one short transaction; retried on
   * OCC conflicts, creation races, lost connections and unknown COMMIT outcomes).
   */
  tryTake(session: MigrationSession): Promise<LeaseAttempt> {
    return idempotentTransaction(session, async (tx) => {
      const { rows } = await tx.query(`SELECT holder, expires_at::text AS expires_at, expires_at > now() AS live FROM ${this.table} WHERE id = 1 FOR UPDATE`);
      const row = rows[0];
      if (!row) {
        await tx.query(`INSERT INTO ${this.table} (id, holder, expires_at) VALUES (1, $1, ${leaseEnd(2)})`, [this.holder, this.leaseMs]);
        return { acquired: true };
      }
      if (isTrue(row['live']) && row['holder'] !== this.holder) {
        return { acquired: false, holder: String(row['holder']), expiresAt: String(row['expires_at']) };
      }
      await tx.query(`UPDATE ${this.table} SET holder = $1, expires_at = ${leaseEnd(2)} WHERE id = 1`, [this.holder, this.leaseMs]);
      return row['holder'] === this.holder ? { acquired: true } : { acquired: true, tookOverFrom: String(row['holder']) };
    }, isCreateRace);
  }

  /** Extends the lease inside the caller's transaction; false when it is no longer ours. */
  async renew(tx: MigrationSql): Promise<boolean> {
    const { rows } = await tx.query(`UPDATE ${this.table} SET expires_at = ${leaseEnd(1)} WHERE id = 1 AND holder = $2 RETURNING id`, [this.leaseMs, this.holder]);
    return rows.length > 0;
  }

  /** Gives the lease back (retried like taking it; an expired lease frees itself anyway). */
  async release(session: MigrationSession): Promise<void> {
    await idempotentTransaction(session, (tx) => tx.query(`DELETE FROM ${this.table} WHERE id = 1 AND holder = $1`, [this.holder]), () => false);
  }
}

/**
 * Runs a statement on a connection of its own (not the migrator's), or answers `undefined`
 * without running it when no connection could be had within `acquireTimeoutMs` (a pool with
 * `max: 1` has none to spare while the migrator holds its connection).
 */
export type DetachedQuery = (sql: string, params: readonly unknown[], acquireTimeoutMs: number) => Promise<readonly MigrationRow[] | undefined>;

/** Options of {@link RowLease}. */
export interface RowLeaseOptions {
  /** The lock table, as name parts (`['kysely_migration_lock']`, `['migrations', 'kysely_migration_lock']`). */
  table: readonly string[];
  /** The lock row's key (in column `id`). */
  rowId: string;
  /** How long a taken lease stays valid without renewal. */
  leaseSeconds: number;
  /** How long to wait for a lease held by another; then `timeoutError()`. */
  acquireTimeoutMs: number;
  /** Pause between two looks at a held lease (±50 % jitter). */
  pollIntervalMs: number;
  /** Renews the lease every third of it on a connection of its own; without one the lease is not renewed. */
  detached?: DetachedQuery | undefined;
  /** The error when the lease could not be had within `acquireTimeoutMs`. */
  timeoutError: () => Error;
  /** The error `release()` fails with when the lease had run out and another took it (`until`: its end). */
  lostError: (until: Date) => Error;
}

/**
 * The lease clock: the server's clock in whole seconds since 2023-11-14 (Unix time
 * 1,700,000,000), so every migrator compares against the same clock and the value fits an
 * `integer` column until 2091 (plain Unix seconds would overflow it in 2038).
 */
const NOW = '(floor(extract(epoch from now())) - 1700000000)::integer';
const EPOCH = 1_700_000_000;

/**
 * One lease on an existing lock row (`id`, integer `is_locked`) whose column is 0 when free,
 * else the second (see `NOW`) at which the holder's lease runs out — the value doubles as the
 * holder's proof of ownership. Every step is one autocommit statement: taking the lease is a
 * conditional UPDATE (`… WHERE is_locked = 0 OR is_locked < now`), retried on OCC conflicts.
 *
 * @example
 * const lease = new RowLease({ table: ['kysely_migration_lock'], rowId: 'migration_lock', leaseSeconds: 300, acquireTimeoutMs: 900_000, pollIntervalMs: 500, timeoutError, lostError });
 * await lease.acquire(runner);
 * try { … } finally { await lease.release(runner); }
 */
export class RowLease {
  readonly #o: RowLeaseOptions;
  readonly #table: string;
  #expiresAt = 0;
  #lost = false;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> = Promise.resolve();

  constructor(options: RowLeaseOptions) {
    this.#o = options;
    this.#table = quoteIdent(...options.table);
  }

  /** Takes the lease (waiting while another holds a live one), then keeps renewing it. */
  async acquire(runner: MigrationSql): Promise<void> {
    const { leaseSeconds, rowId, pollIntervalMs } = this.#o;
    const take = `update ${this.#table} set is_locked = ${NOW} + $1 where id = $2 and (is_locked = 0 or is_locked < ${NOW}) returning is_locked`;
    await waitForLease(
      async () => {
        // A conflict means another migrator touched the row at the same moment: look again.
        const { rows } = await withRetry(() => runner.query(take, [leaseSeconds, rowId]), { retryOn: isOccError, maxElapsedMs: 60_000 });
        if (!rows[0]) return { acquired: false, holder: '', expiresAt: '' };
        this.#expiresAt = Number(rows[0]['is_locked']);
        return { acquired: true };
      },
      { timeoutMs: this.#o.acquireTimeoutMs, nextDelayMs: () => pollIntervalMs * (0.5 + Math.random()), timeoutError: () => this.#o.timeoutError() },
    );
    this.#startRenewing();
  }

  /** Stops renewing and frees the lease if it is still ours; rejects with `lostError` when it was not. */
  async release(runner: MigrationSql): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
    if (this.#expiresAt === 0) return;
    const free = `update ${this.#table} set is_locked = 0 where id = $1 and is_locked = $2 returning id`;
    const ours = this.#expiresAt;
    const { rows } = await withRetry(() => runner.query(free, [this.#o.rowId, ours]), { retryOn: isOccError, maxElapsedMs: 60_000 });
    this.#expiresAt = 0;
    if (this.#lost || rows.length === 0) throw this.#o.lostError(new Date((ours + EPOCH) * 1000));
  }

  #startRenewing(): void {
    const detached = this.#o.detached;
    if (!detached) return;
    const every = (this.#o.leaseSeconds * 1000) / 3;
    const renew = `update ${this.#table} set is_locked = ${NOW} + $1 where id = $2 and is_locked = $3 returning is_locked`;
    this.#timer = setInterval(() => {
      this.#renewing = this.#renewing.then(async () => {
        if (this.#lost || this.#expiresAt === 0) return;
        try {
          // The wait for a connection is bounded, so release() (which awaits this) cannot hang on
          // a pool whose only connection is the migrator's own.
          const params = [this.#o.leaseSeconds, this.#o.rowId, this.#expiresAt];
          const rows = await withRetry(() => detached(renew, params, every / 2), { retryOn: isOccError, maxElapsedMs: every });
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
