// Why a DsqlClient's connection closed, for core's diagnostics (`dsql:connection:closed`): who
// closed it (the server or the network, or `end()`), whether it was idle, its age and idle time.
import type * as pg from 'pg';
import type { ConnectionProbe, DsqlSession } from '@dsql/core';

/**
 * What one client saw of its connection's use. Tracked only once {@link watch} was called (core's
 * diagnostics probe exists only while someone subscribes to its channels): before, each call is
 * one field test.
 *
 * @example
 * const use = new ConnectionUse();
 * use.watch(client, connectionProbe, session, () => lost !== undefined);
 * use.used(); // on each statement
 */
export class ConnectionUse {
  #probe: ConnectionProbe | undefined;
  /** When the connection opened and was last given a statement. */
  #openedAt = 0;
  #lastUsed = 0;
  /** `end()` was called (by the application or the pool) before the socket closed. */
  #endRequested = false;
  /** No statement under way: the server's last answer ended with ReadyForQuery. */
  #idle = true;

  /** A statement is sent on the connection. */
  used(): void {
    if (this.#probe === undefined) return;
    this.#lastUsed = performance.now();
    this.#idle = false;
  }

  /** `end()` was called: the close reason is never `server_closed`. */
  endRequested(): void {
    this.#endRequested = true;
  }

  /**
   * Reports the connection's close to `connection` (core's probe), with the reason core derives
   * from what the client saw: the socket ended without `end()` or pg reported the connection's
   * failure (`lost()`: the server or the network closed it), idle (ReadyForQuery since the last
   * statement) or in use, its age and idle time.
   */
  watch(client: pg.Client, connection: ConnectionProbe, session: Pick<DsqlSession, 'closeReason'>, lost: () => boolean): void {
    this.#probe = connection;
    this.#openedAt = this.#lastUsed = performance.now();
    this.#idle = true;
    let closedByServer = false;
    // Prepended: pg's own 'end' handler may make the pool call end() before a listener added later runs.
    client.connection.prependOnceListener('end', () => void (closedByServer = !this.#endRequested));
    client.connection.on('readyForQuery', () => void (this.#idle = true));
    client.once('end', () => {
      const now = performance.now();
      // pg emits 'error' when the connection fails; the pool then calls end() on the client,
      // possibly before the socket ends: the loss still came from the server.
      const wasLost = closedByServer || lost();
      connection.closed(session.closeReason({ lost: wasLost, idle: !wasLost || this.#idle, ageMs: now - this.#openedAt, idleMs: now - this.#lastUsed }));
    });
  }
}
