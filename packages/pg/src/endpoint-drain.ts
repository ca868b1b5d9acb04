// Closing the connections of an endpoint core's failover router found unhealthy (its periodic
// health check went unanswered: a blackholed Region). Without this, a pool already full never
// notices: idle connections would be handed out and hang, busy ones would wait for TCP.
// Also retiring a pool's connections on the other endpoints after failback, when asked to
// (`endpointProbe.drainAfterFailbackMs`).
import type { EventEmitter } from 'node:events';
import { EndpointSessions, type DsqlEndpointSession, type DsqlSession } from '@dsql/core';
import type * as pg from 'pg';

/** Marks the error an idle connection is closed with after failback: a planned close, not a failure (the pool does not report it). */
const RETIRED = Symbol('dsql.retiredAfterFailback');

/**
 * Whether `err` is the error an idle pooled connection was closed with after failback (`DsqlPool`
 * does not emit it as `'error'`: the pool closed the connection on purpose).
 *
 * @example
 * if (isRetiredAfterFailback(err)) return; // not a lost connection
 */
export function isRetiredAfterFailback(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { [RETIRED]?: boolean })[RETIRED] === true;
}

/**
 * The open connections of one pool (or standalone client), by endpoint. When the router marks an
 * endpoint unhealthy, each of its connections' sockets is destroyed with a connection error: an
 * idle one leaves the pool (pg-pool removes a client whose connection fails), a busy one's
 * statement fails with that error — a connection loss, so a `transaction()` attempt that had not
 * sent COMMIT is retried on a healthy endpoint, and a COMMIT in flight becomes
 * `CommitOutcomeUnknownError`. Which socket is on which endpoint, and what failover does to them,
 * is core's `EndpointSessions`; what retiring a pg client means is this class's.
 *
 * @example
 * const live = new EndpointConnections(session);
 * const closed = live.opened(endpoint, client); client.once('end', closed);
 */
export class EndpointConnections {
  readonly #sessions: EndpointSessions;
  /** Clients a pool has handed out at least once (pooled), and those handed out now (busy). */
  readonly #pooled = new WeakSet<pg.Client>();
  readonly #checkedOut = new WeakSet<pg.Client>();
  /** Busy clients to close when released (after failback). */
  readonly #retiring = new WeakSet<pg.Client>();

  constructor(session: Pick<DsqlSession, 'router'>) {
    // One endpoint: nothing to fail over to, nothing tracked.
    this.#sessions = new EndpointSessions(session.router);
  }

  /**
   * Follows which clients `pool` has checked out, through pg-pool's public `acquire` and
   * `release` events, so a retirement after failback closes idle ones at once and busy ones when
   * released (never in the middle of a query or transaction).
   */
  watchPool(pool: EventEmitter): void {
    pool.on('acquire', (client: pg.Client) => {
      this.#pooled.add(client);
      this.#checkedOut.add(client);
    });
    pool.on('release', (_err: unknown, client: pg.Client) => {
      this.#checkedOut.delete(client);
      // Ending it here (synchronously) makes pg-pool remove it instead of returning it to the idle list.
      if (this.#retiring.has(client)) client.end().catch(() => {});
    });
  }

  /** A connection to `endpoint` authenticated; returns what to call when the client ended. */
  opened(endpoint: DsqlEndpointSession, client: pg.Client): () => void {
    const onRetire = this.#sessions.opened(endpoint, client.connection.stream, undefined);
    return onRetire?.((preferred) => this.#retire(client, preferred)) ?? (() => {});
  }

  /** After failback (new connections go to `preferred`): an idle pooled client is closed now, any other at release. */
  #retire(client: pg.Client, preferred: DsqlEndpointSession): void {
    if (this.#pooled.has(client) && !this.#checkedOut.has(client)) {
      const { endpoint: host, region } = preferred.ref;
      // pg-pool removes an idle client whose connection fails (its public behaviour); the
      // error is marked so DsqlPool does not report this planned close as a lost connection.
      const err = Object.assign(new Error(`Connection closed after failback: new connections go to ${host} (${region}) again`), { [RETIRED]: true });
      client.connection.stream.destroy(err);
    } else {
      this.#retiring.add(client);
    }
  }
}
