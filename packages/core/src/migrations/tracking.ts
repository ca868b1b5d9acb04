/**
 * The tracking table of a statement-by-statement migration run, in SQL Aurora DSQL accepts (no
 * SERIAL, one DDL per transaction). One row per migration, keyed by a number the caller chooses
 * (Drizzle's journal `when`):
 *   created_at bigint PRIMARY KEY, hash text, tag text,
 *   steps int (statements to run), started int (statements begun), done int (statements applied),
 *   finished_at timestamptz (set when done = steps).
 * `started = done + 1` after an interruption means the statement `started` may or may not have
 * run: DDL cannot share a transaction with the DML that records it.
 */
import { isOccError } from '../errors/sqlstate.js';
import { withRetry, type RetryOptions } from '../retry.js';
import { quoteIdent, isTrue, type MigrationSql } from './session.js';

/** Where the tracking tables live: `<schema>.<table>`, and the lock table `<schema>.<table>_lock`. */
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

const migrationsTable = (n: TrackingNames): string => quoteIdent(n.schema, n.table);

/**
 * The tracking table's DDL statements (schema, then table; `IF NOT EXISTS`), each for a
 * transaction of its own.
 */
export function trackingDdl(names: TrackingNames): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(names.schema)}`,
    `CREATE TABLE IF NOT EXISTS ${migrationsTable(names)} (
      created_at bigint PRIMARY KEY,
      hash text NOT NULL,
      tag text NOT NULL,
      steps integer NOT NULL,
      started integer NOT NULL,
      done integer NOT NULL,
      finished_at timestamptz
    )`,
  ];
}

/** True when the tracking table exists (read-only). */
async function trackingTableExists(runner: MigrationSql, names: TrackingNames): Promise<boolean> {
  const { rows } = await runner.query(
    'SELECT 1 AS present FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2',
    [names.schema, names.table],
  );
  return rows.length > 0;
}

/**
 * Every row of the tracking table by `created_at`; empty when the table does not exist yet.
 * Read-only: nothing is created. Retried (core's retry, `retry` as configured) when an OCC
 * conflict refuses it: another run changing the schema at the same moment can fail a read too.
 *
 * @example
 * const tracked = await readTracking(session, { schema: 'drizzle', table: '__drizzle_migrations' });
 * const pending = migrations.filter((m) => !tracked.get(m.createdAt)?.finished);
 */
export function readTracking(runner: MigrationSql, names: TrackingNames, retry: RetryOptions = {}): Promise<Map<number, TrackedMigration>> {
  return withRetry(
    async () => ((await trackingTableExists(runner, names)) ? readRows(runner, names) : new Map<number, TrackedMigration>()),
    { ...retry, retryOn: isOccError },
  );
}

/** Every row of the tracking table (which must exist). */
export async function readRows(runner: MigrationSql, names: TrackingNames): Promise<Map<number, TrackedMigration>> {
  const { rows } = await runner.query(
    `SELECT created_at, hash, tag, steps, started, done, finished_at IS NOT NULL AS finished FROM ${migrationsTable(names)}`,
  );
  return new Map(
    rows.map((r) => {
      const m: TrackedMigration = {
        createdAt: Number(r['created_at']),
        hash: String(r['hash']),
        tag: String(r['tag']),
        steps: Number(r['steps']),
        started: Number(r['started']),
        done: Number(r['done']),
        finished: isTrue(r['finished']),
      };
      return [m.createdAt, m];
    }),
  );
}

/** Records a migration about to start (its row, if new) in `tx`; answers its row. */
export async function registerMigration(
  tx: MigrationSql,
  names: TrackingNames,
  m: { createdAt: number; hash: string; tag: string; steps: number },
): Promise<TrackedMigration> {
  const { rows } = await tx.query(
    `SELECT started, done, steps, hash, finished_at IS NOT NULL AS finished FROM ${migrationsTable(names)} WHERE created_at = $1`,
    [m.createdAt],
  );
  const row = rows[0];
  if (row) {
    return {
      ...m,
      hash: String(row['hash']),
      steps: Number(row['steps']),
      started: Number(row['started']),
      done: Number(row['done']),
      finished: isTrue(row['finished']),
    };
  }
  await tx.query(
    `INSERT INTO ${migrationsTable(names)} (created_at, hash, tag, steps, started, done) VALUES ($1, $2, $3, $4, 0, 0)`,
    [m.createdAt, m.hash, m.tag, m.steps],
  );
  return { ...m, started: 0, done: 0, finished: false };
}

/** Records progress of a migration (`started`, or `done` and whether it finished) in `tx`. */
export async function recordProgress(
  tx: MigrationSql,
  names: TrackingNames,
  createdAt: number,
  progress: { started: number } | { done: number; finished: boolean },
): Promise<void> {
  if ('started' in progress) {
    await tx.query(`UPDATE ${migrationsTable(names)} SET started = $1 WHERE created_at = $2`, [progress.started, createdAt]);
  } else {
    const finished = progress.finished ? 'now()' : 'NULL';
    await tx.query(`UPDATE ${migrationsTable(names)} SET done = $1, finished_at = ${finished} WHERE created_at = $2`, [progress.done, createdAt]);
  }
}
