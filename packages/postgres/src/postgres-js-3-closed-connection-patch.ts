/**
 * The one place where `@dsql/postgres` touches Postgres.js internals, and only Postgres.js 3.4.x.
 *
 * What it patches: Postgres.js 3.4 keeps handing the statements of a connection the application
 * holds — a transaction's `tx` or a reserved connection (`sql.reserve()`) — to that connection's
 * object after its socket closed. That object then writes to the socket it has already dropped,
 * which throws an uncaught `TypeError: Cannot read properties of null (reading 'write')` from a
 * timer and ends the process (porsager/postgres#1199); or, when it is reconnecting for another
 * query, it mixes the statement (a COMMIT, say) into the new session, which answers the wrong
 * query. `release()` of such a reservation also puts the dead connection back among the open ones.
 *
 * Why internals: Postgres.js 3.4 has no public hook that says which connection a statement runs
 * on or that stops a statement before it is written (no diagnostics channels; `onclose` names a
 * connection slot that is reused by reconnects, and the `tx`/reserved `sql` does not say which
 * slot it holds). So the patch wraps each statement's `handler` and `reject` and reads its
 * `state` (BackendKeyData: the session it ran on) — fields of Postgres.js 3.4's `Query`.
 * `test/postgres-js-3-closed-connection-patch.test.ts` pins those fields to the 3.4 line
 * (devDependency `postgres-v3`), and the integration suites run against it
 * (`jest.postgres-v3.config.cjs`).
 *
 * Postgres.js 4 fixed all of this itself (a statement of a transaction or reservation whose
 * connection closed rejects with `CONNECTION_CLOSED`, nothing is written to a closed connection,
 * `release()` of a closed connection does nothing): {@link isPostgresJs3} is false there and
 * none of this runs.
 */
import type postgres from 'postgres';
import { isConnectionLoss } from '@dsql/core';

/**
 * True for a Postgres.js 3.x `sql` (the line this file patches), false for 4.x and later.
 *
 * Told apart by public surface: `sql.stats` (the pool's counters) is new in Postgres.js 4 — the
 * same release that handles closed connections itself. (4.x's package.json is not exported, so
 * its version cannot be read portably.)
 *
 * @example
 * if (isPostgresJs3(sql)) reserved = guardReserved(reserved, where);
 */
export function isPostgresJs3(sql: object): boolean {
  return !('stats' in sql);
}

/** The parts of a Postgres.js 3.4 `Query` the guard touches (internal to Postgres.js 3.4). */
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
 * Watches the statements of one Postgres.js 3.4 connection held by the application — a reserved
 * connection or a transaction's `tx` — and keeps them away from Postgres.js once that connection
 * closed (see the file comment for why).
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

/**
 * Wraps a Postgres.js 3.4 reserved connection (`sql.reserve()`) so that it can be used safely
 * after its connection was lost. Kysely's Postgres.js dialects reserve a connection for every
 * query and transaction, and answer a failed transaction with ROLLBACK on it, so one lost
 * connection would take the process down.
 *
 * Once the connection is known to be lost (see {@link ConnectionGuard}), its statements reject at
 * once with a `CONNECTION_CLOSED` error without reaching Postgres.js, and `release()` does
 * nothing: Postgres.js took the closed connection back when it closed and reconnects it on demand.
 *
 * Not covered: a connection that dies after `reserve()` and before its first statement, when
 * that statement comes after Postgres.js noticed the close (its session is not known yet, and
 * Postgres.js does not say which connection it reserved). Kysely sends its first statement in
 * the same tick as the reservation, before any close can be noticed.
 *
 * @example
 * const reserved = guardReserved(await rawReserve(), { host, port, live: sessions });
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any custom types
export function guardReserved<R extends postgres.ReservedSql<any>>(reserved: R, where: GuardedConnectionInfo): R {
  const guard = new ConnectionGuard(where);
  return guard.wrap(reserved, {
    release: () => {
      if (!guard.isLost()) reserved.release();
    },
  });
}

/** The answer withheld from Postgres.js 3.4: a promise that never settles. */
export const withheld = (): Promise<never> => new Promise<never>(() => undefined);

/**
 * Postgres.js 3.4's side of one `sql.begin` attempt whose connection may close under it: the
 * transaction's statements are guarded ({@link ConnectionGuard}: they reject with
 * `CONNECTION_CLOSED`), and once the connection closed, the callback's answer — value or error —
 * is {@link withheld} from Postgres.js, which would otherwise write COMMIT or ROLLBACK to the
 * closed connection. `begin` has already been rejected with the connection error, and that
 * rejection is what the caller gets. Postgres.js 4 does all of this itself.
 *
 * @example
 * const guard = new TransactionCallbackGuard(where, () => beginSettled);
 * const value = await fn(guard.wrap(tx));
 * if (guard.closed()) return withheld();
 */
export class TransactionCallbackGuard {
  readonly #connection: ConnectionGuard;
  readonly #settled: () => boolean;

  /** `settled`: whether Postgres.js's `begin` settled — while the callback runs, only when the connection closed. */
  constructor(where: Omit<GuardedConnectionInfo, 'closed'> | undefined, settled: () => boolean) {
    this.#settled = settled;
    this.#connection = new ConnectionGuard({ host: where?.host ?? 'localhost', port: where?.port ?? 5432, live: where?.live, closed: settled });
  }

  /** The transaction's `tx`, its statements guarded. */
  wrap<S extends object>(tx: S): S {
    return this.#connection.wrap(tx);
  }

  /** Whether the transaction's connection is known to be closed. */
  closed(): boolean {
    return this.#settled() || this.#connection.sessionClosed();
  }

  /** What the callback answers Postgres.js when it failed with `err`: `err`, or nothing once the connection closed. */
  async failed(err: unknown): Promise<never> {
    // A connection loss is reported to the statement (by the socket's 'error') a moment before
    // Postgres.js handles the close and rejects `begin`: give it that moment. The error is
    // recognised through `cause` chains and AggregateErrors (core's isConnectionLoss), since ORMs
    // (Drizzle's DrizzleQueryError) and applications wrap driver errors.
    if (isConnectionLoss(err)) await new Promise((resolve) => setImmediate(resolve));
    if (this.closed()) return withheld();
    throw err;
  }
}
