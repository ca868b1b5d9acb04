/**
 * The few things the migrator needs from a Drizzle database, for either driver: a statement in
 * autocommit, and a short bookkeeping transaction retried on OCC conflicts.
 */
import { sql, type SQL } from 'drizzle-orm';
import { withRetry, isOccError, type RetryOptions } from '@dsql/core';
import { transaction, type TransactionalDatabase } from '../transaction.js';

/**
 * What `migrate()` takes: a Drizzle Postgres database (node-postgres or Postgres.js).
 *
 * @example
 * const db: MigratableDatabase = drizzle({ connection: { host } });
 */
export interface MigratableDatabase extends TransactionalDatabase {
  execute(query: SQL | string): PromiseLike<unknown>;
}

/** Runs SQL and returns its rows. */
export type Query = (query: SQL) => Promise<Record<string, unknown>[]>;

/** node-postgres answers `{ rows }`, Postgres.js an array of rows. */
function rowsOf(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return result as Record<string, unknown>[];
  const rows = (result as { rows?: unknown } | undefined)?.rows;
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
}

/** What the migrator runs SQL with. */
export interface Executor {
  /** One statement in autocommit (its own transaction). */
  query: Query;
  /** A transaction, retried as a whole on OCC conflicts (`retryOn` adds more retryable errors). */
  transaction<T>(fn: (query: Query) => Promise<T>, retryOn?: (err: unknown) => boolean): Promise<T>;
}

/**
 * The executor of a Drizzle database.
 *
 * @example
 * const exec = executorOf(db, {});
 * await exec.query(sql`SELECT 1`);
 */
export function executorOf(db: MigratableDatabase, retry: RetryOptions): Executor {
  return {
    query: async (query) => rowsOf(await db.execute(query)),
    transaction: (fn, retryOn) =>
      withRetry(
        () => transaction(db, (tx: MigratableDatabase) => fn(async (q) => rowsOf(await tx.execute(q))), false),
        { ...retry, retryOn: (err, attempt) => isOccError(err) || (retryOn?.(err) ?? false) || (retry.retryOn?.(err, attempt) ?? false) },
      ),
  };
}

export { sql };
