/**
 * The small seam between the Kysely driver and a database client: one checked-out connection
 * (`DsqlSession`) and where sessions come from (`SessionSource`). `@dsql/pg` pools and
 * Postgres.js `sql` instances each get a source of a few lines; the DSQL rules (transactions,
 * savepoints, index jobs, lost COMMITs) are applied once, by the driver above this seam, through
 * @dsql/core.
 */

/** What one statement answered. */
export interface SessionResult {
  /** Result rows (empty for statements that return none). */
  readonly rows: Record<string, unknown>[];
  /** Command tag verb: `SELECT`, `INSERT`, `COMMIT`, `ROLLBACK`, `CREATE INDEX`, … */
  readonly command: string | undefined;
  /** Rows affected, when the driver reports it. */
  readonly rowCount: number | undefined;
}

/** One connection, checked out for the duration of a Kysely connection. */
export interface DsqlSession {
  /** Runs one statement with `$n` parameters. */
  query(sql: string, parameters: readonly unknown[]): Promise<SessionResult>;
  /** Streams rows in chunks (optional: not every client can). */
  stream?(sql: string, parameters: readonly unknown[], chunkSize: number): AsyncIterableIterator<Record<string, unknown>[]>;
  /**
   * Asks the server to cancel the statement running on this connection, if one is (Kysely 0.29's
   * `inflightQueryAbortStrategy: 'cancel query'`). The statement then fails with 57014; resolves
   * once the request was delivered, rejects when it could not be (optional: not every client can).
   */
  cancel?(): Promise<void>;
  /** Gives the connection back; `destroy` closes it instead (its state is unknown). */
  release(destroy: boolean): void | Promise<void>;
}

/** Where sessions come from: a pool. */
export interface SessionSource {
  acquire(): Promise<DsqlSession>;
  /** Closes the pool (when the dialect owns it, or when Kysely's `destroy()` is called). */
  end(): Promise<void>;
  /**
   * The pool or `sql` sessions come from, once known (a pool factory runs on first use): the
   * owner of nested-transaction scopes (@dsql/core's `runInTransactionScope`).
   */
  owner(): object | undefined;
  /** How error messages name the owner: `'pool'`, `'sql'`. */
  readonly ownerName: string;
}
