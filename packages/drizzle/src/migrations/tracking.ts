/**
 * The tracking table (which migrations ran, and how far each got) and the migration lock, in
 * SQL Aurora DSQL accepts: no SERIAL, no advisory locks, one DDL per transaction.
 *
 * Tracking table, one row per migration (keyed like Drizzle's by the journal's `when`):
 *   created_at bigint PRIMARY KEY, hash text, tag text,
 *   steps int (statements to run), started int (statements begun), done int (statements applied),
 *   finished_at timestamptz (set when done = steps).
 * `started = done + 1` after an interruption means the statement `started` may or may not have
 * run: DDL cannot share a transaction with the DML that records it.
 *
 * Lock table, one row: id = 1, holder text, expires_at timestamptz — a lease. DSQL has no lock
 * waits and no advisory locks, so the lease is taken with an ordinary write that OCC serialises:
 * two processes inserting or taking over the row at once conflict at COMMIT and one loses. The
 * holder renews the lease in every bookkeeping transaction (and while it waits for index
 * jobs), checking that it still holds it, so a process that lost its lease stops before
 * recording anything. A killed holder's lease expires and the next `migrate()` takes over.
 */
import { DsqlError, isCommitOutcomeUnknownError, isRetryableTransactionError } from '@dsql/core';
import { sqlstateOf } from '../sqlstate.js';
import { sql, type SQL } from 'drizzle-orm';
import type { Executor, Query } from './executor.js';

/** Where the tracking tables live. */
export interface TrackingNames {
  schema: string;
  table: string;
}

/** One row of the tracking table. */
export interface TrackedMigration {
  createdAt: number;
  hash: string;
  tag: string;
  steps: number;
  started: number;
  done: number;
  finished: boolean;
}

const ident = (...names: string[]): SQL => sql.join(names.map((n) => sql.identifier(n)), sql`.`);
const migrationsTable = (n: TrackingNames): SQL => ident(n.schema, n.table);
const lockTable = (n: TrackingNames): SQL => ident(n.schema, `${n.table}_lock`);

/**
 * The lease was lost (it expired and another process took it over): this run stops.
 *
 * @example
 * if (err instanceof MigrationLockError) console.error(err.message);
 */
export class MigrationLockError extends DsqlError {
  override name = 'MigrationLockError';
  constructor(message: string) {
    // The lease timed out (or the wait for it did): DsqlError's 'timeout' code.
    super('timeout', message);
  }
}

/** Errors of two processes creating the same table or row at once; trying again settles them. */
function isCreateRace(err: unknown): boolean {
  const code = sqlstateOf(err);
  return code === '23505' || code === '42P07' || code === '42P06';
}

/** True when the tracking table exists (read-only: runs before the check that nothing is refused). */
export async function trackingTableExists(exec: Executor, names: TrackingNames): Promise<boolean> {
  const rows = await exec.query(
    sql`SELECT 1 AS present FROM information_schema.tables WHERE table_schema = ${names.schema} AND table_name = ${names.table}`,
  );
  return rows.length > 0;
}

/** Creates the schema and both tables if missing: one DDL statement per transaction. */
export async function ensureTrackingTables(exec: Executor, names: TrackingNames): Promise<void> {
  const ddl = [
    sql`CREATE SCHEMA IF NOT EXISTS ${sql.identifier(names.schema)}`,
    sql`CREATE TABLE IF NOT EXISTS ${migrationsTable(names)} (
      created_at bigint PRIMARY KEY,
      hash text NOT NULL,
      tag text NOT NULL,
      steps integer NOT NULL,
      started integer NOT NULL,
      done integer NOT NULL,
      finished_at timestamptz
    )`,
    sql`CREATE TABLE IF NOT EXISTS ${lockTable(names)} (
      id integer PRIMARY KEY,
      holder text NOT NULL,
      expires_at timestamptz NOT NULL
    )`,
  ];
  // Another migrate() may create them at the same moment: its table wins, ours finds it there.
  for (const statement of ddl) await exec.transaction((q) => q(statement), isCreateRace);
}

/** Every row of the tracking table, by `created_at`. */
export async function readTracking(query: Query, names: TrackingNames): Promise<Map<number, TrackedMigration>> {
  const rows = await query(
    sql`SELECT created_at, hash, tag, steps, started, done, finished_at IS NOT NULL AS finished FROM ${migrationsTable(names)}`,
  );
  return new Map(
    rows.map((r) => {
      const m: TrackedMigration = {
        createdAt: Number(r.created_at),
        hash: String(r.hash),
        tag: String(r.tag),
        steps: Number(r.steps),
        started: Number(r.started),
        done: Number(r.done),
        finished: r.finished === true || r.finished === 't',
      };
      return [m.createdAt, m];
    }),
  );
}

const leaseEnd = (leaseMs: number): SQL => sql`now() + ${leaseMs}::integer * interval '1 millisecond'`;

/** Outcome of one attempt to take the lock. */
export type LockAttempt = { acquired: true; tookOverFrom?: string } | { acquired: false; holder: string; expiresAt: string };

/**
 * Taking and giving back the lock are idempotent (the holder is unique to the run), so they are
 * retried after a lost connection too, and run again after a COMMIT whose answer was lost (it
 * may have taken or freed the lock already; core's retry never repeats such a COMMIT, since it
 * cannot know the work is idempotent), up to `UNKNOWN_OUTCOME_RUNS` times in all.
 */
const UNKNOWN_OUTCOME_RUNS = 3;

async function idempotentLockTransaction<T>(exec: Executor, fn: (q: Query) => Promise<T>, retryOn: (err: unknown) => boolean): Promise<T> {
  for (let run = 1; ; run++) {
    try {
      return await exec.transaction(fn, (err) => retryOn(err) || isRetryableTransactionError(err));
    } catch (err) {
      if (!isCommitOutcomeUnknownError(err) || run >= UNKNOWN_OUTCOME_RUNS) throw err;
    }
  }
}

/**
 * Takes the lock if it is free, expired or already ours (one short transaction; retried on
 * OCC conflicts, creation races, lost connections and unknown COMMIT outcomes).
 */
export async function tryLock(exec: Executor, names: TrackingNames, holder: string, leaseMs: number): Promise<LockAttempt> {
  return idempotentLockTransaction(exec, async (q) => {
    const [row] = await q(
      sql`SELECT holder, expires_at::text AS expires_at, expires_at > now() AS live FROM ${lockTable(names)} WHERE id = 1 FOR UPDATE`,
    );
    if (!row) {
      await q(sql`INSERT INTO ${lockTable(names)} (id, holder, expires_at) VALUES (1, ${holder}, ${leaseEnd(leaseMs)})`);
      return { acquired: true };
    }
    const live = row.live === true || row.live === 't';
    if (live && row.holder !== holder) return { acquired: false, holder: String(row.holder), expiresAt: String(row.expires_at) };
    await q(sql`UPDATE ${lockTable(names)} SET holder = ${holder}, expires_at = ${leaseEnd(leaseMs)} WHERE id = 1`);
    return row.holder === holder ? { acquired: true } : { acquired: true, tookOverFrom: String(row.holder) };
  }, isCreateRace);
}

/** Extends the lease inside a bookkeeping transaction; throws when it is no longer ours. */
export async function renewLock(q: Query, names: TrackingNames, holder: string, leaseMs: number): Promise<void> {
  const rows = await q(
    sql`UPDATE ${lockTable(names)} SET expires_at = ${leaseEnd(leaseMs)} WHERE id = 1 AND holder = ${holder} RETURNING id`,
  );
  if (rows.length === 0) {
    throw new MigrationLockError(
      `The migration lock of ${names.schema}.${names.table} was lost (its lease expired and another migrate() took it over); ` +
        'this run stopped. Raise lockLeaseSeconds above the longest pause between two statements.',
    );
  }
}

/** Gives the lock back (retried like taking it; an expired lease frees it anyway). */
export async function releaseLock(exec: Executor, names: TrackingNames, holder: string): Promise<void> {
  await idempotentLockTransaction(exec, (q) => q(sql`DELETE FROM ${lockTable(names)} WHERE id = 1 AND holder = ${holder}`), () => false);
}

/** Records a migration about to start (its row, if new), under the lock. */
export async function registerMigration(
  exec: Executor,
  names: TrackingNames,
  lock: { holder: string; leaseMs: number },
  m: { createdAt: number; hash: string; tag: string; steps: number },
): Promise<TrackedMigration> {
  return exec.transaction(async (q) => {
    await renewLock(q, names, lock.holder, lock.leaseMs);
    const [row] = await q(
      sql`SELECT started, done, steps, hash, finished_at IS NOT NULL AS finished FROM ${migrationsTable(names)} WHERE created_at = ${m.createdAt}`,
    );
    if (row) {
      return {
        ...m,
        hash: String(row.hash),
        steps: Number(row.steps),
        started: Number(row.started),
        done: Number(row.done),
        finished: row.finished === true || row.finished === 't',
      };
    }
    await q(
      sql`INSERT INTO ${migrationsTable(names)} (created_at, hash, tag, steps, started, done) VALUES (${m.createdAt}, ${m.hash}, ${m.tag}, ${m.steps}, 0, 0)`,
    );
    return { ...m, started: 0, done: 0, finished: false };
  });
}

/** Records progress of a migration (`started` and/or `done`), under the lock. */
export async function recordProgress(
  exec: Executor,
  names: TrackingNames,
  lock: { holder: string; leaseMs: number },
  createdAt: number,
  progress: { started: number } | { done: number; finished: boolean },
): Promise<void> {
  await exec.transaction(async (q) => {
    await renewLock(q, names, lock.holder, lock.leaseMs);
    if ('started' in progress) {
      await q(sql`UPDATE ${migrationsTable(names)} SET started = ${progress.started} WHERE created_at = ${createdAt}`);
    } else {
      const finished = progress.finished ? sql`now()` : sql`NULL`;
      await q(sql`UPDATE ${migrationsTable(names)} SET done = ${progress.done}, finished_at = ${finished} WHERE created_at = ${createdAt}`);
    }
  });
}

/** Extends the lease on its own (while waiting for a job). */
export async function keepLock(exec: Executor, names: TrackingNames, lock: { holder: string; leaseMs: number }): Promise<void> {
  await exec.transaction((q) => renewLock(q, names, lock.holder, lock.leaseMs));
}
