import type { DsqlSession, SessionResult, SessionSource } from './session.js';

/**
 * The part of a node-postgres pooled client the dialect uses. A `DsqlPoolClient` from
 * `@dsql/pg` (or a plain `pg.PoolClient`) fits.
 *
 * @example
 * const client: PgPoolClientLike = await new DsqlPool(options).connect();
 */
export interface PgPoolClientLike {
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
export interface PgPoolLike {
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
  readonly #cursor: PgCursorConstructor | undefined;

  constructor(client: PgPoolClientLike, cursor: PgCursorConstructor | undefined) {
    this.#client = client;
    this.#cursor = cursor;
    client.on?.('error', ignoreError);
  }

  async query(sql: string, parameters: readonly unknown[]): Promise<SessionResult> {
    const result = await this.#client.query(sql, [...parameters]);
    return {
      rows: (result.rows ?? []) as Record<string, unknown>[],
      command: result.command,
      rowCount: result.rowCount ?? undefined,
    };
  }

  async *stream(sql: string, parameters: readonly unknown[], chunkSize: number): AsyncIterableIterator<Record<string, unknown>[]> {
    if (!this.#cursor) {
      throw new Error("Streaming with the node-postgres driver needs the 'cursor' option of DsqlDialect (import Cursor from 'pg-cursor').");
    }
    const cursor = this.#client.query(new this.#cursor(sql, [...parameters]));
    try {
      for (;;) {
        const rows = await cursor.read(chunkSize);
        if (rows.length === 0) return;
        yield rows;
      }
    } finally {
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
    acquire: async () => new PgSession(await (await get()).connect(), cursor),
    end: async () => {
      if (ready) await (await ready).end();
    },
  };
}
