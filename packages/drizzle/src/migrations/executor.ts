/**
 * The few things the migration toolkit needs from a Drizzle database, for either driver: a
 * statement in autocommit, and a short bookkeeping transaction retried on OCC conflicts.
 */
import { sql, type SQL } from 'drizzle-orm';
import { withRetry, isOccError, type RetryOptions } from '@dsql/core';
import type { MigrationRow, MigrationSession, MigrationSql } from '@dsql/core/migrations';
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

/** node-postgres answers `{ rows }`, Postgres.js an array of rows. */
function rowsOf(result: unknown): MigrationRow[] {
  if (Array.isArray(result)) return result as MigrationRow[];
  const rows = (result as { rows?: unknown } | undefined)?.rows;
  return Array.isArray(rows) ? (rows as MigrationRow[]) : [];
}

/** `$1`-style SQL and its parameters as Drizzle's `SQL`: the placeholders become Drizzle parameters. */
function toSql(text: string, params: readonly unknown[] = []): SQL {
  if (params.length === 0) return sql.raw(text);
  // split() with a capture group: even indices are text, odd ones the placeholder numbers.
  const parts = text.split(/\$(\d+)/);
  return sql.join(parts.map((part, i) => (i % 2 === 0 ? sql.raw(part) : sql`${params[Number(part) - 1]}`)));
}

const runner = (db: MigratableDatabase): MigrationSql => ({
  query: async (text, params) => ({ rows: rowsOf(await db.execute(toSql(text, params))) }),
});

/**
 * The migration session of a Drizzle database: transactions are this package's `transaction()`
 * (one attempt each), retried here on OCC conflicts with `retry` as the caller configured it.
 *
 * @example
 * const session = sessionOf(db, {});
 * await session.query('SELECT 1');
 */
export function sessionOf(db: MigratableDatabase, retry: RetryOptions): MigrationSession {
  return {
    ...runner(db),
    transaction: (fn, retryOn) =>
      withRetry(
        () => transaction(db, (tx: MigratableDatabase) => fn(runner(tx)), false),
        { ...retry, retryOn: (err, attempt) => isOccError(err) || (retryOn?.(err) ?? false) || (retry.retryOn?.(err, attempt) ?? false) },
      ),
  };
}
