import { sendCancelRequest, type PgCancelKey, type PgClientFactory } from './pg-cancel.js';
import type { DsqlSession, SessionResult, SessionSource } from './session.js';

/**
 * The part of a node-postgres pooled client the dialect uses. A `DsqlPoolClient` from
 * `@dsql/pg` (or a plain `pg.PoolClient`) fits.
 *
 * @example
 * const client: PgPoolClientLike = await new DsqlPool(options).connect();
 */
export interface PgPoolClientLike extends PgCancelKey {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; command: string; rowCount: number | null }>;
  query<C>(cursor: C): C;
  release(err?: Error | boolean): void;
  on?(event: 'error', listener: (err: Error) => void): unknown;
  removeListener?(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * The part of a node-postgres pool the dialect uses: a `DsqlPool` from `@dsql/pg` (recommended:
 * IAM tokens, TLS, lifetimes and connect rate limiting are handled), or any `pg.Pool`.
 *
 * @example
 * const pool: PgPoolLike = new DsqlPool({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' });
 */
export interface PgPoolLike extends PgClientFactory {
  connect(): Promise<PgPoolClientLike>;
  end(): Promise<void>;
}

/**
 * A `pg-cursor` class (`import Cursor from 'pg-cursor'`), needed for `.stream()` on the
 * node-postgres driver.
 *
 * @example
 * new DsqlDialect({ ...options, cursor: Cursor });
 */
export type PgCursorConstructor = new (text: string, values: unknown[]) => {
  read(rowCount: number): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
};

// While a client is checked out, pg-pool leaves its 'error' events to the holder; a connection
// lost mid-statement already fails that statement, so the event itself must not crash the process.
const ignoreError = (): void => {};

class PgSession implements DsqlSession {
  readonly #client: PgPoolClientLike;
  readonly #pool: PgPoolLike;
  readonly #cursor: PgCursorConstructor | undefined;
  /**
   * Statements (and cursors) sent and not yet answered, oldest first. pg queues a statement
   * issued while another runs (Kysely's ROLLBACK after an aborted statement), so the one the
   * server is running is the oldest: what `cancel()` interrupts.
   */
  readonly #inFlight: object[] = [];

  constructor(client: PgPoolClientLike, pool: PgPoolLike, cursor: PgCursorConstructor | undefined) {
    this.#client = client;
    this.#pool = pool;
    this.#cursor = cursor;
    client.on?.('error', ignoreError);
  }

  async query(sql: string, parameters: readonly unknown[]): Promise<SessionResult> {
    const statement = {};
    this.#inFlight.push(statement);
    try {
      const result = await this.#client.query(sql, [...parameters]);
      return {
        rows: (result.rows ?? []) as Record<string, unknown>[],
        command: result.command,
        rowCount: result.rowCount ?? undefined,
      };
    } finally {
      this.#settled(statement);
    }
  }

  #settled(statement: object): void {
    const at = this.#inFlight.indexOf(statement);
    if (at >= 0) this.#inFlight.splice(at, 1);
  }

  async cancel(): Promise<void> {
    const statement = this.#inFlight[0];
    if (statement === undefined) return;
    await sendCancelRequest(this.#pool, this.#client, () => this.#inFlight[0] === statement);
  }

  async *stream(sql: string, parameters: readonly unknown[], chunkSize: number): AsyncIterableIterator<Record<string, unknown>[]> {
    if (!this.#cursor) {
      throw new Error("Streaming with the node-postgres driver needs the 'cursor' option of DsqlDialect (import Cursor from 'pg-cursor').");
    }
    const cursor = this.#client.query(new this.#cursor(sql, [...parameters]));
    this.#inFlight.push(cursor);
    try {
      for (;;) {
        const rows = await cursor.read(chunkSize);
        if (rows.length === 0) return;
        yield rows;
      }
    } finally {
      this.#settled(cursor);
      await cursor.close();
    }
  }

  release(destroy: boolean): void {
    this.#client.removeListener?.('error', ignoreError);
    this.#client.release(destroy ? new Error('@dsql/kysely: connection discarded (its state is unknown)') : undefined);
  }
}

/**
 * Sessions from a node-postgres pool, or from a function creating one on first use.
 *
 * @example
 * const source = pgSource(() => new DsqlPool(options));
 */
export function pgSource(pool: PgPoolLike | (() => PgPoolLike | Promise<PgPoolLike>), cursor?: PgCursorConstructor): SessionSource {
  // A pool given as an object is ours to end on `db.destroy()` (as with Kysely's PostgresDialect);
  // a factory runs on first use only.
  let ready: Promise<PgPoolLike> | undefined = typeof pool === 'function' ? undefined : Promise.resolve(pool);
  let created: PgPoolLike | undefined = typeof pool === 'function' ? undefined : pool;
  const get = (): Promise<PgPoolLike> =>
    (ready ??= Promise.resolve((pool as () => PgPoolLike | Promise<PgPoolLike>)()).then((made) => (created = made)));
  return {
    owner: () => created,
    ownerName: 'pool',
    acquire: async () => {
      const source = await get();
      return new PgSession(await source.connect(), source, cursor);
    },
    end: async () => {
      if (ready) await (await ready).end();
    },
  };
}
