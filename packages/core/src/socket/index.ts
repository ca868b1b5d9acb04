/**
 * The authenticated DSQL socket: what a driver that accepts a socket of its own (Postgres.js's
 * `socket` option) connects through. Nothing here knows the driver: the socket looks like a
 * plain, connected Node socket; underneath, each connection is routed, rate limited, dialled
 * (TCP + TLS verify-full with SNI, or WebSocket), authenticated with the session's IAM token and
 * retried as core's session says, and the server's greeting is replayed to the driver.
 */
import type { DsqlSession } from '../session/session.js';
import { DsqlSocket, type ConnectionGauge } from './dsql-socket.js';
import { EndpointSessions } from './endpoint-sessions.js';
import { sessionOpener, type ConnectCounters } from './session-opener.js';

export type { DsqlSocket, ConnectionGauge } from './dsql-socket.js';
export type { ConnectCounters } from './session-opener.js';

/** Per connection: how long it may take and how its TCP connection is kept alive. */
export interface DsqlSocketOptions {
  /** No new attempt starts after this many milliseconds; default: the session's `connectDeadlineMs`. */
  deadlineMs?: number | undefined;
  /** TCP keep-alive, in seconds (0 or undefined: off). */
  keepAliveSeconds?: number | undefined;
}

/**
 * The sockets of one pool (one driver instance) on one DSQL session: `open()` gives each new
 * connection its socket. The pool's sockets share counters (`counters`: attempts by outcome;
 * `gauge`: open and in-use connections, for drivers that count none) and `live`, the backend keys
 * (`"<pid>:<secret>"`) of the sessions open right now. With several endpoints, they also share
 * failover's view of their sessions: the sessions of an endpoint found unhealthy are destroyed,
 * those elsewhere retired after failback at their next idle point, and a CancelRequest goes to
 * the endpoint of the session it names.
 *
 * The first bytes the driver writes decide what a socket becomes: a StartupMessage opens an
 * authenticated session (the token answers the server's cleartext password request, so the
 * driver's own password is never asked for), a CancelRequest a bare connection for it.
 *
 * @example
 * const session = createDsqlSession({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' });
 * const sockets = new DsqlSockets(session);
 * const sql = postgres({ host: session.config.host, ssl: false, socket: () => sockets.open({ keepAliveSeconds: 60 }) });
 */
export class DsqlSockets {
  /** Connections opened, attempts made, attempts retried, connections failed for good. */
  readonly counters: ConnectCounters = { opened: 0, attempts: 0, retried: 0, failed: 0 };
  /** Open connections, and those in use (a statement unanswered, or a transaction open). */
  readonly gauge: ConnectionGauge = { open: 0, used: 0 };
  /** Backend keys of the sessions open right now: added once authenticated, removed (synchronously) on close. */
  readonly live: ReadonlySet<string> = new Set<string>();
  readonly #session: DsqlSession;
  readonly #sessions: EndpointSessions;

  constructor(session: DsqlSession) {
    this.#session = session;
    this.#sessions = new EndpointSessions(session.router);
  }

  /** A socket for one new connection, not yet connected: it connects when the driver first writes. */
  open(options: DsqlSocketOptions = {}): DsqlSocket {
    const session = this.#session;
    const opener = sessionOpener({
      session,
      keepAliveSeconds: options.keepAliveSeconds,
      deadlineMs: options.deadlineMs ?? session.connectDeadlineMs,
      counters: this.counters,
      gauge: this.gauge,
      sessions: this.#sessions,
    });
    return new DsqlSocket(opener, { host: session.config.host, port: session.config.port }, this.live as Set<string>);
  }
}
