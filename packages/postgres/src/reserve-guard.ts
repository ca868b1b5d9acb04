import type postgres from 'postgres';
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

/**
 * Wraps a reserved connection (`sql.reserve()`) so that it can be used safely after its
 * connection was lost.
 *
 * Postgres.js 3.4 keeps handing a reserved connection's statements to its connection object
 * after the socket closed; that object writes to the socket it has already dropped, which
 * throws an uncaught `TypeError: Cannot read properties of null (reading 'write')` from a timer
 * and ends the process (porsager/postgres#1208). Kysely's `kysely-postgres-js` reserves a
 * connection for every query and transaction, and answers a failed transaction with ROLLBACK on
 * it, so one lost connection would take the process down. And `release()` of the dead
 * connection would put it back among the open ones, where the next query crashes the same way.
 *
 * The connection counts as lost once one of its statements failed because the connection was
 * lost (core's `isConnectionLoss`), or — for a connection that died while none of its
 * statements ran — once its session (named by the BackendKeyData Postgres.js recorded on the
 * statements, `"<pid>:<secret>"`) is no longer among `where.live`, the open sessions that
 * `DsqlSocket`s keep. From then on its statements reject at once with a `CONNECTION_CLOSED`
 * error (the code Postgres.js uses) without reaching Postgres.js, and `release()` does nothing:
 * Postgres.js took the closed connection back when it closed and reconnects it on demand.
 *
 * Not covered: a connection that dies after `reserve()` and before its first statement (its
 * session is not known yet).
 *
 * @example
 * const reserved = guardReserved(await rawReserve(), { host, port, live: sessions });
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any custom types
export function guardReserved<R extends postgres.ReservedSql<any>>(reserved: R, where: { host: string; port: number; live: ReadonlySet<string> }): R {
  let lost: { cause?: unknown } | undefined;
  let session: string | undefined;
  let executed: QueryInternals | undefined;
  const sessionOf = (state: QueryInternals['state']): string | undefined =>
    state && state.pid !== null ? `${state.pid}:${state.secret}` : undefined;
  /** Whether the connection is known to be gone (its session closed, or replaced by a reconnect). */
  const isLost = (): boolean => {
    if (lost !== undefined) return true;
    session ??= sessionOf(executed?.state ?? null);
    if (session === undefined) return false;
    if (where.live.has(session) && sessionOf(executed!.state) === session) return false;
    lost = {};
    return true;
  };
  const closedError = (): Error =>
    Object.assign(new Error(`write CONNECTION_CLOSED ${where.host}:${where.port}`, lost?.cause === undefined ? {} : { cause: lost.cause }), {
      code: 'CONNECTION_CLOSED',
      errno: 'CONNECTION_CLOSED',
      address: where.host,
      port: where.port,
    });
  const guard = (value: unknown): unknown => {
    if (!isQuery(value)) return value; // a helper (identifier, fragment), not a statement
    const run = value.handler;
    const guarded: Handler = (query) => {
      if (isLost()) return query.reject(closedError());
      const reject = query.reject;
      query.reject = (err: unknown) => {
        if (lost === undefined && isConnectionLoss(err)) lost = { cause: err };
        reject(err);
      };
      executed ??= query;
      return run(query);
    };
    guarded.debug = run.debug;
    value.handler = guarded;
    return value;
  };
  return new Proxy(reserved, {
    apply: (target, thisArg, args) => guard(Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args)),
    get: (target, key, receiver) => {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      if (key === 'unsafe' || key === 'file') return (...args: unknown[]) => guard((value as (...a: unknown[]) => unknown).apply(target, args));
      if (key === 'release') {
        return () => {
          if (!isLost()) (value as () => void).call(target);
        };
      }
      return value;
    },
  });
}
