/**
 * What the migration toolkit needs from a driver: a statement and its rows, and a short
 * transaction. Structural on purpose (Kysely's `PostgresPool` shapes are the model), so core
 * imports no driver: an adapter hands in a few lines of glue.
 */

/** A result row, as drivers give them: column name → value. */
export type MigrationRow = Record<string, unknown>;

/**
 * Runs one statement (in autocommit, or inside the transaction it was handed in) with
 * PostgreSQL placeholders (`$1`, `$2`, …) and answers its rows.
 *
 * @example
 * const runner: MigrationSql = { query: async (text, params) => ({ rows: (await pool.query(text, params as unknown[])).rows }) };
 */
export interface MigrationSql {
  query(sql: string, params?: readonly unknown[]): Promise<{ readonly rows: readonly MigrationRow[] }>;
}

/**
 * What a driver answers for one statement, as far as the toolkit reads it (Kysely's
 * `QueryResult`-like shapes and node-postgres's `QueryResult` both fit).
 *
 * @example
 * const result: StatementResult = { command: 'CREATE', rows: [{ job_id: 'qfzv5uemkrg2lbczil2fim3o2q' }], rowCount: 1 };
 */
export interface StatementResult {
  /** Command tag verb (`CREATE`, `SELECT`, …), when the driver reports it. */
  readonly command?: string | undefined;
  readonly rows: readonly MigrationRow[];
  /** Rows affected, when the driver reports it (not read). */
  readonly rowCount?: number | null | undefined;
}

/**
 * {@link MigrationSql} plus a transaction, retried as a whole on OCC conflicts by the adapter's
 * transaction runner (`retryOn` names further errors worth another attempt).
 *
 * @example
 * const session: MigrationSession = {
 *   query: (text, params) => runner.query(text, params),
 *   transaction: (fn, retryOn) => transaction(db, (tx) => fn(glue(tx)), { retryOn }),
 * };
 */
export interface MigrationSession extends MigrationSql {
  transaction<T>(fn: (tx: MigrationSql) => Promise<T>, retryOn?: (err: unknown) => boolean): Promise<T>;
}

/**
 * A PostgreSQL identifier, quoted (`"a""b"` for `a"b`); several parts are joined with dots.
 *
 * @example
 * quoteIdent('drizzle', '__drizzle_migrations'); // '"drizzle"."__drizzle_migrations"'
 */
export function quoteIdent(...parts: readonly string[]): string {
  return parts.map((p) => `"${p.replace(/"/g, '""')}"`).join('.');
}

/** True for the boolean a driver answered (`true`, or pg's text form `'t'`). */
export function isTrue(value: unknown): boolean {
  return value === true || value === 't';
}
