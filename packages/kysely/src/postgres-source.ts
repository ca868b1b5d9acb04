import { isConnectionLoss } from '@dsql/core';
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
  /** Postgres.js's query cancellation (a CancelRequest on a new connection with the `sql`'s options). */
  cancel?(): unknown;
  /** Postgres.js 4's `query.signal(abortSignal)`; its presence tells version 4 (whose `cancel()` returns a promise). */
  signal?(signal: AbortSignal): unknown;
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

/** How long `db.destroy()` lets Postgres.js connections finish before terminating them. */
const END_TIMEOUT_SECONDS = 5;

class PostgresSession implements DsqlSession {
  readonly #reserved: PostgresReservedLike;
  /** The socket closed under this reservation. */
  #lost = false;
  /** The statement running now, if any: what `cancel()` interrupts. */
  #running: PostgresPendingLike | undefined;

  constructor(reserved: PostgresReservedLike) {
    this.#reserved = reserved;
  }

  async query(sql: string, parameters: readonly unknown[]): Promise<SessionResult> {
    const pending = this.#reserved.unsafe(sql, [...parameters]);
    this.#running = pending;
    try {
      const result = await pending;
      return { rows: [...result], command: result.command, rowCount: result.count ?? undefined };
    } catch (err) {
      if (isConnectionLoss(err)) this.#lost = true;
      throw err;
    } finally {
      if (this.#running === pending) this.#running = undefined;
    }
  }

  async cancel(): Promise<void> {
    const pending = this.#running;
    if (pending === undefined) return;
    // Postgres.js sends the CancelRequest itself, with the sql's options (TLS, host). Version 4
    // returns the request's promise. 3.4's cancel() drops it, so a request that fails (endpoint
    // unreachable) would be an unhandled rejection, which ends the process: not used there.
    if (typeof pending.cancel !== 'function' || typeof pending.signal !== 'function') {
      throw new Error("@dsql/kysely: cancelling a statement needs Postgres.js 4 (3.4's query.cancel() can end the process when the request fails); the statement runs on.");
    }
    await pending.cancel();
  }

  async *stream(sql: string, parameters: readonly unknown[], chunkSize: number): AsyncIterableIterator<Record<string, unknown>[]> {
    for await (const rows of this.#reserved.unsafe(sql, [...parameters]).cursor(chunkSize)) yield rows;
  }

  release(): void {
    // When the socket closed, Postgres.js has already moved the connection to its closed queue
    // and ended the reservation; `release()` would then put the dead connection back among the
    // open ones (Postgres.js 3.4.9: the next query fails with "Cannot read properties of null
    // (reading 'write')"), so it is skipped. A live connection cannot be closed on its own in
    // Postgres.js: it is released.
    if (this.#lost) return;
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
    owner: () => sql,
    ownerName: 'sql',
    acquire: async () => new PostgresSession(await sql.reserve()),
    // Postgres.js 3.4.9's end() never resolves once a connection closed with a statement in flight
    // (its `ended` callback is only called from a socket that is already gone); the timeout lets
    // it terminate such connections. Healthy idle connections still end at once.
    end: () => sql.end({ timeout: END_TIMEOUT_SECONDS }),
  };
}
