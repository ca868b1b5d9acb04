/** A reservation as far as this module is concerned: something that can be given back. */
interface Releasable {
  release(): void;
}

/** See {@link reserveWaiters}. */
export interface ReserveWaiters<R extends Releasable> {
  /** `sql.reserve()` that settles even when a connection closes while it waits. */
  reserve(): Promise<R>;
  /**
   * To be called from Postgres.js's `onclose` option: a connection has just closed (Postgres.js
   * is about to hand its oldest waiting request to that connection's reconnect).
   */
  connectionClosed(): void;
}

/**
 * Keeps a waiting `sql.reserve()` from waiting forever (Postgres.js 3.4 only: `dsql()` does not
 * use it with Postgres.js 4, whose pool hands a closed connection's waiting requests on itself).
 * Public Postgres.js API only (`reserve()`, the `onclose` option).
 *
 * When a connection closes while requests wait for one, Postgres.js 3.4 reconnects it for the
 * oldest waiting request; if that request is a reservation, the reconnected connection drops it
 * (it executes only queries) and goes idle: the reservation never settles
 * (porsager/postgres#1195). Kysely's Postgres.js dialects reserve a connection for every query
 * and transaction, so under connection churn (server-side age limits, restarts, dropped
 * connections) their callers hang one by one.
 *
 * So every reservation still waiting when a connection closes asks once more (right after
 * Postgres.js took its pick, and while that one may be the reservation it dropped). The first
 * answer settles the reservation; a later grant is released at once, a later refusal ignored.
 * Each close can drop at most one request, so a waiting reservation always keeps one request
 * that can still be answered. (A reservation whose reconnect fails is not dropped: Postgres.js
 * rejects it, and that rejection is the answer.)
 *
 * @example
 * const waiters = reserveWaiters(() => rawReserve());
 * const sql = postgres({ ...options, onclose: () => waiters.connectionClosed() });
 * const reserved = await waiters.reserve();
 */
export function reserveWaiters<R extends Releasable>(raw: () => Promise<R>): ReserveWaiters<R> {
  /** Each waiting reservation's way to ask once more. */
  const waiting = new Set<() => void>();
  return {
    reserve() {
      return new Promise<R>((resolve, reject) => {
        let settled = false;
        const ask = (): void => {
          raw().then(
            (reserved) => {
              if (settled) return reserved.release(); // an extra grant: give it back
              settled = true;
              waiting.delete(ask);
              resolve(reserved);
            },
            (err: unknown) => {
              if (settled) return;
              settled = true;
              waiting.delete(ask);
              reject(err);
            },
          );
        };
        waiting.add(ask);
        ask();
      });
    },
    connectionClosed() {
      if (waiting.size === 0) return;
      // Not synchronously: Postgres.js picks the request it reconnects for right after this
      // hook returns, and a request made now could be picked itself (and a closed connection
      // would be connected twice).
      queueMicrotask(() => {
        for (const ask of [...waiting]) ask();
      });
    },
  };
}
