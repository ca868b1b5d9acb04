// Closing the connections of an endpoint core's failover router found unhealthy (its periodic
// health check went unanswered: a blackholed Region). Without this, a pool already full never
// notices: idle connections would be handed out and hang, busy ones would wait for TCP.
import type { DsqlEndpointSession, DsqlSession } from '@dsql/core';
import type * as pg from 'pg';

/**
 * The open connections of one pool (or standalone client), by endpoint. When the router marks an
 * endpoint unhealthy, each of its connections' sockets is destroyed with a connection error: an
 * idle one leaves the pool (pg-pool removes a client whose connection fails), a busy one's
 * statement fails with that error — a connection loss, so a `transaction()` attempt that had not
 * sent COMMIT is retried on a healthy endpoint, and a COMMIT in flight becomes
 * `CommitOutcomeUnknownError`.
 *
 * @example
 * const live = new EndpointConnections(session);
 * live.opened(endpoint, client); client.once('end', () => live.closed(endpoint, client));
 */
export class EndpointConnections {
  readonly #byEndpoint = new Map<DsqlEndpointSession, Set<pg.Client>>();

  constructor(session: Pick<DsqlSession, 'router' | 'endpoints'>) {
    // One endpoint: nothing to fail over to, nothing to track.
    if (session.endpoints.length > 1) session.router.onUnhealthy((endpoint, drain) => drain && this.#drain(endpoint));
  }

  /** A connection to `endpoint` authenticated. */
  opened(endpoint: DsqlEndpointSession, client: pg.Client): void {
    let clients = this.#byEndpoint.get(endpoint);
    if (clients === undefined) this.#byEndpoint.set(endpoint, (clients = new Set()));
    clients.add(client);
  }

  /** It ended. */
  closed(endpoint: DsqlEndpointSession, client: pg.Client): void {
    this.#byEndpoint.get(endpoint)?.delete(client);
  }

  /** How many connections to `endpoint` are open. */
  count(endpoint: DsqlEndpointSession): number {
    return this.#byEndpoint.get(endpoint)?.size ?? 0;
  }

  #drain(endpoint: DsqlEndpointSession): void {
    const clients = this.#byEndpoint.get(endpoint);
    if (clients === undefined) return;
    for (const client of [...clients]) {
      const { endpoint: host, region } = endpoint.ref;
      // The wording is a connection loss to core's classification ("connection closed").
      client.connection.stream.destroy(new Error(`Connection closed by failover: the endpoint ${host} (${region}) did not answer its health check`));
      clients.delete(client);
    }
  }
}
