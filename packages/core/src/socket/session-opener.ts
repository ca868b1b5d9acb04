import type { Duplex } from 'node:stream';
import { connectWithRetry } from '../connect/connect-retry.js';
import type { DsqlEndpointSession } from '../failover/endpoint-session.js';
import type { RetryInfo } from '../retry.js';
import type { DsqlSession } from '../session/session.js';
import type { ConnectionGauge, Session, SessionOpener } from './dsql-socket.js';
import { startupHandshake } from './handshake.js';
import { loadPgProtocol } from './pg-protocol.js';
import { dialTls } from './tls-dial.js';
import { dialWebSocket } from './websocket-dial.js';
import { TERMINATE } from './wire.js';
import type { EndpointSessions } from './endpoint-sessions.js';

/** Counters of the connections one pool opened (a retried connection counts each attempt), kept by its session openers. */
export interface ConnectCounters {
  opened: number;
  attempts: number;
  retried: number;
  failed: number;
}

/** What a {@link sessionOpener} needs. */
export interface SessionOpenerOptions {
  /**
   * Core's session: its router says which endpoint each attempt goes to; the endpoint gives
   * where to dial and TLS, the IAM token for that endpoint (asked for only when the server wants
   * a password), its rate limiter, and the explanation of a refused connection.
   */
  session: Pick<DsqlSession, 'router' | 'closeReason'>;
  /** TCP keep-alive, in seconds. */
  keepAliveSeconds?: number | undefined;
  /** No new attempt starts after this many milliseconds. */
  deadlineMs: number;
  counters: ConnectCounters;
  /** The pool's open sessions by endpoint (one registry per pool, shared by its connections' openers). */
  sessions?: EndpointSessions | undefined;
  /** The pool's open / in-use connection counts, kept by the sockets of the sessions opened here. */
  gauge?: ConnectionGauge | undefined;
  /** Called before each retry wait. */
  onRetry?: ((info: RetryInfo) => void) | undefined;
}

/**
 * Opens DSQL sessions for a {@link DsqlSocket}: each attempt waits for the endpoint's
 * connection rate limiter, dials, and runs the IAM startup handshake; refusals that go away by
 * themselves (53400 rate exceeded, 53300 too many connections, cluster waking up, connection
 * reset or refused) are retried by core's `connectWithRetry` with capped, jittered backoff
 * until `deadlineMs`. Anything else (access denied, a bad certificate) fails at once, with
 * core's explanation of what to check.
 *
 * @example
 * const opener = sessionOpener({ session: createDsqlSession(options), deadlineMs: 29_000, counters });
 */
export function sessionOpener(options: SessionOpenerOptions): SessionOpener {
  const { counters, session } = options;
  const { router } = session;
  const dial = (endpoint: DsqlEndpointSession, signal: AbortSignal): Promise<Duplex> => {
    const { config } = endpoint;
    if (config.transport === 'websocket') {
      // PostgreSQL over WebSocket: TLS from the WebSocket (with the endpoint's ca and servername
      // where the constructor takes them); `hostaddr` dialled as over TCP.
      const tls = endpoint.tls === false ? false : { ...endpoint.tls, servername: endpoint.dial.servername };
      return dialWebSocket({ url: config.webSocketUrl!, WebSocket: config.webSocketConstructor, tls, address: endpoint.dial.hostaddr, keepAliveSeconds: options.keepAliveSeconds }, signal);
    }
    return dialTls({ dial: endpoint.dial, tls: endpoint.tls, keepAliveSeconds: options.keepAliveSeconds }, signal);
  };
  /**
   * One attempt on `endpoint`: its limiter, its address and TLS identity, its token. Reported to
   * core's diagnostics (the limiter wait, the outcome, and through the DsqlSocket the close) when
   * `diagnostics` is on; a failover probe's connection is not one of the application's.
   */
  const open = async (endpoint: DsqlEndpointSession, startup: Buffer, signal: AbortSignal, diagnostics: boolean, bound?: AbortSignal): Promise<Session> => {
    const probe = diagnostics ? endpoint.probeConnectAttempt() : undefined;
    if (endpoint.limiter) {
      probe?.waitingForLimiter();
      try {
        await endpoint.limiter.acquire({ signal });
      } catch (err) {
        probe?.failed(err);
        throw err;
      }
      probe?.admitted();
    }
    let socket: Awaited<ReturnType<typeof dial>> | undefined;
    try {
      // The attempt's own bound (another endpoint could be tried) starts after the limiter admitted it.
      const attemptSignal = bound ? AbortSignal.any([signal, bound]) : signal;
      const dialing = dial(endpoint, attemptSignal);
      // The handshake's pg-protocol (loaded once, at the first connection) loads while the TCP connect is under way.
      loadPgProtocol().catch(() => {});
      socket = await dialing;
      // Dialled: TCP and TLS (or the WebSocket) are up; authentication starts.
      probe?.dialed();
      const greeting = await startupHandshake(socket, startup, () => endpoint.tokens.getToken(), attemptSignal);
      // Every admitted attempt's outcome goes back to the limiter (an adaptive one backs off on 53400).
      endpoint.limiter?.observe();
      const connection = probe?.succeeded();
      return connection ? { socket, greeting, connection, closeReason: session.closeReason, gauge: options.gauge } : { socket, greeting };
    } catch (err) {
      socket?.destroy();
      endpoint.limiter?.observe(err);
      probe?.failed(err);
      throw err;
    }
  };
  /** The driver's startup message: the same for every endpoint (user, database, parameters). */
  let lastStartup: Buffer | undefined;
  // core's failover router probes an unhealthy endpoint with one real session, closed at once.
  router.useProbe(async (endpoint, signal) => {
    if (lastStartup === undefined) throw new Error('no startup message to probe with yet');
    const { socket } = await open(endpoint, lastStartup, signal, false);
    socket.on('error', () => {}); // a reset after Terminate says nothing: the probe has its answer
    socket.end(TERMINATE);
  });
  let lastEndpoint: DsqlEndpointSession = router.endpoints[0]!;
  const attempt = async (startup: Buffer, signal: AbortSignal): Promise<Session> => {
    counters.attempts++;
    // Each attempt goes where core's router says: after a failure of the endpoint, the next healthy one.
    const routed = router.attempt();
    lastEndpoint = routed.endpoint;
    // With another healthy endpoint to try, one attempt may not take the whole connect deadline (a
    // blackholed endpoint); with none, only `signal` (connect_timeout) bounds it.
    const boundMs = router.attemptTimeoutMs(routed.endpoint);
    const bound = boundMs === undefined ? undefined : new AbortController();
    const timer =
      bound &&
      setTimeout(() => {
        const { endpoint: host, region } = routed.endpoint.ref;
        bound.abort(Object.assign(new Error(`Connection attempt to ${host} (${region}) timed out after ${boundMs} ms`), { code: 'ETIMEDOUT' }));
      }, boundMs);
    try {
      const opened = await open(routed.endpoint, startup, signal, true, bound?.signal);
      routed.succeeded();
      // With more than one endpoint, failover follows the session (endpoint-sessions.ts).
      const onRetire = router.endpoints.length > 1 ? options.sessions?.opened(routed.endpoint, opened.socket, opened.greeting.backendKey) : undefined;
      // And, with endpointProbe.suspectAfterMs, its requests: one left unanswered has the endpoint checked at once.
      const statements = router.watchStatements(routed.endpoint);
      return onRetire || statements ? { ...opened, ...(onRetire && { onRetire }), ...(statements && { statements }) } : opened;
    } catch (err) {
      // The caller's abort (connect_timeout, sql.end()) is not the endpoint's failure.
      if (!signal.aborted) routed.failed(err);
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
    }
  };
  return {
    async session(startup, signal) {
      lastStartup = startup;
      try {
        const session = await connectWithRetry(() => attempt(startup, signal), {
          deadlineMs: options.deadlineMs,
          // Bounded by time (connect_timeout), not by a count: under a connection storm a
          // refused attempt is cheap, and a fixed count runs out for the unluckiest
          // connections while the endpoint's rate quota is still draining the queue.
          maxAttempts: 1000,
          signal,
          onRetry: (info) => {
            counters.retried++;
            options.onRetry?.(info);
          },
        });
        counters.opened++;
        return session;
      } catch (err) {
        counters.failed++;
        throw lastEndpoint.describeConnectError(err);
      }
    },
    async raw(cancelRequest, signal) {
      // To the endpoint of the session the CancelRequest names; else (a session already closed,
      // or one endpoint) to the one new connections go to.
      const endpoint = options.sessions?.endpointOf(cancelRequest) ?? router.pick();
      await endpoint.limiter?.acquire({ signal });
      try {
        const socket = await dial(endpoint, signal);
        endpoint.limiter?.observe();
        return socket;
      } catch (err) {
        endpoint.limiter?.observe(err);
        throw err;
      }
    },
  };
}
