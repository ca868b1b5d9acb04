import type { DsqlSession, SessionResult, SessionSource } from './session.js';

/**
 * A pending Postgres.js query as the dialect uses it: awaitable (an array of rows with
 * `command` and `count`), or read in chunks with `cursor(n)`.
 *
 * @example
 * const rows = await reserved.unsafe('select 1 as one', []);
 */
export interface PostgresPendingLike extends PromiseLike<Record<string, unknown>[] & { command?: string; count?: number | null }> {
  cursor(rows: number): AsyncIterable<Record<string, unknown>[]>;
}

/**
 * A reserved Postgres.js connection (`await sql.reserve()`).
 *
 * @example
 * const reserved: PostgresReservedLike = await sql.reserve();
 */
export interface PostgresReservedLike {
  unsafe(query: string, parameters?: unknown[]): PostgresPendingLike;
  release(): void;
}

/**
 * The part of a Postgres.js `sql` the dialect uses: an `sql` from `dsql()` of `@dsql/postgres`
 * (recommended), or any `postgres()` instance (≥ 3.4, which has `reserve()`).
 *
 * @example
 * const sql: PostgresSqlLike = dsql({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' });
 */
export interface PostgresSqlLike {
  reserve(): Promise<PostgresReservedLike>;
  end(options?: { timeout?: number }): Promise<void>;
}

class PostgresSession implements DsqlSession {
  readonly #reserved: PostgresReservedLike;

  constructor(reserved: PostgresReservedLike) {
    this.#reserved = reserved;
  }

  async query(sql: string, parameters: readonly unknown[]): Promise<SessionResult> {
    const result = await this.#reserved.unsafe(sql, [...parameters]);
    return { rows: [...result], command: result.command, rowCount: result.count ?? undefined };
  }

  async *stream(sql: string, parameters: readonly unknown[], chunkSize: number): AsyncIterableIterator<Record<string, unknown>[]> {
    for await (const rows of this.#reserved.unsafe(sql, [...parameters]).cursor(chunkSize)) yield rows;
  }

  release(): void {
    // Postgres.js cannot close one reserved connection on demand; a broken one is dropped by
    // Postgres.js itself when its socket closes.
    this.#reserved.release();
  }
}

/**
 * Sessions from a Postgres.js `sql`: each Kysely connection is a reserved connection.
 *
 * @example
 * const source = postgresSource(dsql(options));
 */
export function postgresSource(sql: PostgresSqlLike): SessionSource {
  return {
    acquire: async () => new PostgresSession(await sql.reserve()),
    end: () => sql.end(),
  };
}
