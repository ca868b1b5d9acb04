import type { Duplex } from 'node:stream';
import type { DsqlEndpointSession } from '../failover/endpoint-session.js';
import type { DsqlSession } from '../session/session.js';

/**
 * The open sessions of one pool (`DsqlSockets`) by endpoint, when it has more than one (`endpoints`): what
 * failover does to them, registered with core's router once per pool (each connection has a
 * session opener of its own, so per-opener listeners would pile up on the router).
 *
 * - An endpoint marked unhealthy (its health check went unanswered: a blackholed Region): its
 *   sessions are destroyed with a connection loss, so a transaction attempt that had not sent
 *   COMMIT is retried on a healthy endpoint.
 * - After failback, with `endpointProbe.drainAfterFailbackMs`: the sessions on every other
 *   endpoint are retired, each closing at its next idle point (DsqlSocket).
 * - A CancelRequest goes to the endpoint of the session it names: sent to another Region's
 *   endpoint it would reach a different cluster, and after failback new connections go elsewhere
 *   than the older ones.
 *
 * @example
 * const sessions = new EndpointSessions(session.router);
 * const onRetire = sessions.opened(endpoint, socket, greeting.backendKey);
 */
export class EndpointSessions {
  readonly #sockets = new Map<DsqlEndpointSession, Set<Duplex>>();
  readonly #retirable = new Map<DsqlEndpointSession, Set<(preferred: DsqlEndpointSession) => void>>();
  /** By backend key (`"<pid>:<secret>"`). */
  readonly #endpointOfKey = new Map<string, DsqlEndpointSession>();
  readonly #retires: boolean;

  constructor(router: Pick<DsqlSession['router'], 'endpoints' | 'drainsAfterFailback' | 'onUnhealthy' | 'onFailback'>) {
    this.#retires = router.drainsAfterFailback;
    if (router.endpoints.length <= 1) return;
    router.onUnhealthy((endpoint, drain) => {
      if (!drain) return;
      const { endpoint: host, region } = endpoint.ref;
      // A connection loss to core's classification ("connection closed").
      for (const socket of this.#sockets.get(endpoint) ?? []) socket.destroy(new Error(`Connection closed by failover: the endpoint ${host} (${region}) did not answer its health check`));
      this.#sockets.delete(endpoint);
    });
    if (this.#retires) {
      router.onFailback((preferred) => {
        for (const [endpoint, retires] of this.#retirable) if (endpoint !== preferred) for (const retire of [...retires]) retire(preferred);
      });
    }
  }

  /**
   * A session authenticated on `endpoint`: remembered until `socket` closes. Returns the
   * session's `onRetire` (see `Session`) when sessions are retired after failback; a retirement is
 * told the endpoint new connections go to again.
   */
  opened(endpoint: DsqlEndpointSession, socket: Duplex, backendKey: string | undefined): ((retire: (preferred: DsqlEndpointSession) => void) => () => void) | undefined {
    add(this.#sockets, endpoint, socket);
    socket.once('close', () => this.#sockets.get(endpoint)?.delete(socket));
    if (backendKey !== undefined) {
      this.#endpointOfKey.set(backendKey, endpoint);
      socket.once('close', () => this.#endpointOfKey.delete(backendKey));
    }
    if (!this.#retires) return undefined;
    return (retire) => {
      add(this.#retirable, endpoint, retire);
      return () => void this.#retirable.get(endpoint)?.delete(retire);
    };
  }

  /** The endpoint of the open session a CancelRequest (length, code, pid, secret) names. */
  endpointOf(cancelRequest: Buffer): DsqlEndpointSession | undefined {
    if (cancelRequest.length < 16) return undefined;
    return this.#endpointOfKey.get(`${cancelRequest.readUInt32BE(8)}:${cancelRequest.readUInt32BE(12)}`);
  }
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(value);
}
