import type postgres from 'postgres';
import { ConnectionGuard, type GuardedConnectionInfo } from './connection-guard.js';

/**
 * Wraps a reserved connection (`sql.reserve()`) so that it can be used safely after its
 * connection was lost.
 *
 * Postgres.js 3.4 keeps handing a reserved connection's statements to its connection object
 * after the socket closed, which crashes the process (see {@link ConnectionGuard}). Kysely's
 * Postgres.js dialects reserve a connection for every query and transaction, and answer a
 * failed transaction with ROLLBACK on it, so one lost connection would take the process down.
 * And `release()` of the dead connection would put it back among the open ones, where the next
 * query crashes the same way (porsager/postgres#1199).
 *
 * Once the connection is known to be lost (a statement failed because the connection was lost,
 * or its session closed — see {@link ConnectionGuard}), its statements reject at once with a
 * `CONNECTION_CLOSED` error without reaching Postgres.js, and `release()` does nothing:
 * Postgres.js took the closed connection back when it closed and reconnects it on demand.
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
