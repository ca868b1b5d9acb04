import { isConnectionLoss } from '@dsql/core';

/** The parts of a Postgres.js `Query` the guard touches (internal to Postgres.js 3.4). */
interface QueryInternals {
  handler: Handler;
  reject(err: unknown): void;
  /** The connection's `{ pid, secret }` (from BackendKeyData), set when the query is executed. */
  state: { pid: number | null; secret: number | null } | null;
}
type Handler = ((query: QueryInternals) => unknown) & { debug?: unknown };

function isQuery(x: unknown): x is Promise<unknown> & QueryInternals {
  return x instanceof Promise && typeof (x as Partial<QueryInternals>).handler === 'function' && typeof (x as Partial<QueryInternals>).reject === 'function';
}

/** Where a guarded connection leads, and how to tell that it closed. */
export interface GuardedConnectionInfo {
  /** For the `CONNECTION_CLOSED` error (as Postgres.js words it). */
  host: string;
  port: number;
  /**
   * The backend keys (`"<pid>:<secret>"`) of the sessions open right now, kept by the
   * `DsqlSocket`s of the same `sql` (a key leaves the set synchronously when its socket closes,
   * before Postgres.js hears of it). Absent for an `sql` not made by `dsql()`.
   */
  live?: ReadonlySet<string> | undefined;
  /** Another way to learn that the connection closed (a transaction: `begin` already settled). */
  closed?: (() => boolean) | undefined;
}

/**
 * Watches the statements of one Postgres.js connection held by the application — a reserved
 * connection (`sql.reserve()`) or a transaction's `tx` — and keeps them away from Postgres.js
 * once that connection closed.
 *
 * Postgres.js 3.4 hands such statements to its connection object even after the socket closed;
 * that object writes to the socket it has already dropped, which throws an uncaught
 * `TypeError: Cannot read properties of null (reading 'write')` from a timer and ends the
 * process (porsager/postgres#1199), or — when the connection is reconnecting for another query
 * — mixes the statement into the new session and answers the wrong query.
 *
 * The connection counts as closed once one of its statements failed because the connection was
 * lost (core's `isConnectionLoss`), once `info.closed()` says so, or once its session (named by
 * the BackendKeyData Postgres.js records on the statements it runs) is no longer among
 * `info.live`. From then on its statements reject at once with a `CONNECTION_CLOSED` error (the
 * code Postgres.js uses) without reaching Postgres.js.
 *
 * @example
 * const guard = new ConnectionGuard({ host, port, live: sessions });
 * const tx2 = guard.wrap(tx); // tx2`select 1` rejects once tx's connection is gone
 */
export class ConnectionGuard {
  readonly #info: GuardedConnectionInfo;
  #lost: { cause?: unknown } | undefined;
  #session: string | undefined;
  #executed: QueryInternals | undefined;

  constructor(info: GuardedConnectionInfo) {
    this.#info = info;
  }

  /**
   * True once the session this connection's statements ran on is known to be closed (it left
   * `info.live`, or Postgres.js reconnected the connection to another session). Definite: it is
   * never true of a session still open. False while no statement ran.
   */
  sessionClosed(): boolean {
    const live = this.#info.live;
    if (live === undefined) return false;
    const current = ConnectionGuard.#sessionOf(this.#executed?.state ?? null);
    this.#session ??= current;
    if (this.#session === undefined) return false;
    return !live.has(this.#session) || current !== this.#session;
  }

  /** True once the connection is known to be gone (see the class). */
  isLost(): boolean {
    if (this.#lost !== undefined) return true;
    if (this.#info.closed?.() || this.sessionClosed()) this.#lost = {};
    return this.#lost !== undefined;
  }

  /** The error a statement of a lost connection rejects with. */
  closedError(): Error {
    const { host, port } = this.#info;
    const cause = this.#lost?.cause;
    return Object.assign(new Error(`write CONNECTION_CLOSED ${host}:${port}`, cause === undefined ? {} : { cause }), {
      code: 'CONNECTION_CLOSED',
      errno: 'CONNECTION_CLOSED',
      address: host,
      port,
    });
  }

  /**
   * A proxy of `sql` (bound to this connection) whose statements — tagged templates,
   * `unsafe()`, `file()` — are guarded; `overrides` replace some of its properties.
   */
  wrap<S extends object>(sql: S, overrides: Record<string | symbol, unknown> = {}): S {
    return new Proxy(sql, {
      apply: (target, thisArg, args) => this.#guard(Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args)),
      get: (target, key, receiver) => {
        if (Object.prototype.hasOwnProperty.call(overrides, key)) return overrides[key];
        const value: unknown = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        if (key === 'unsafe' || key === 'file') return (...args: unknown[]) => this.#guard((value as (...a: unknown[]) => unknown).apply(target, args));
        return value;
      },
    });
  }

  static #sessionOf(state: QueryInternals['state']): string | undefined {
    return state && state.pid !== null ? `${state.pid}:${state.secret}` : undefined;
  }

  #guard(value: unknown): unknown {
    if (!isQuery(value)) return value; // a helper (identifier, fragment), not a statement
    const run = value.handler;
    const guarded: Handler = (query) => {
      if (this.isLost()) return query.reject(this.closedError());
      const reject = query.reject;
      query.reject = (err: unknown) => {
        if (this.#lost === undefined && isConnectionLoss(err)) this.#lost = { cause: err };
        reject(err);
      };
      this.#executed ??= query;
      return run(query);
    };
    guarded.debug = run.debug;
    value.handler = guarded;
    return value;
  }
}
