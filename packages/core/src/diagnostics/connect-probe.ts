/**
 * What an adapter reports about its physical connections, published by core on the
 * `dsql:connect:*` and `dsql:connection:closed` channels (channels.ts). An adapter calls the
 * probe at the points only it sees (the limiter admitted the attempt, the driver authenticated or
 * failed, the socket closed); the payloads, outcomes and close reasons are decided here, once.
 * Free when nobody listens: without subscribers a probe is a shared object whose methods do nothing.
 */
import { channels, monotonicMs, type DsqlConnectOutcome, type DsqlConnectionCloseReason, type DsqlEndpointFields } from './channels.js';
import { connectOutcome } from './outcomes.js';
import { logConnectFailure, logConnectionClosed, type DsqlLogger } from './logger.js';
import type { DsqlStatsRecorder } from './stats.js';

/**
 * One open connection, as its adapter reports it.
 *
 * @example
 * socket.once('close', () => connection.closed(session.closeReason({ lost: !endRequested, idle: true, ageMs, idleMs })));
 */
export interface ConnectionProbe {
  /**
   * Publishes `dsql:connection:closed` with `reason` (only the first call counts).
   */
  closed(reason: DsqlConnectionCloseReason): void;
}

/**
 * One connection attempt, as its adapter reports it: {@link waitingForLimiter} before the
 * limiter, {@link admitted} after it, then {@link succeeded} or {@link failed} exactly once.
 *
 * @example
 * const probe = session.probeConnectAttempt();
 * probe.waitingForLimiter(); await session.limiter?.acquire(); probe.admitted();
 * try { await driverConnect(); connection = probe.succeeded(); } catch (err) { probe.failed(err); throw err; }
 * connection?.closed('client');
 */
export interface ConnectAttemptProbe {
  /** The attempt starts waiting for the connection rate limiter. */
  waitingForLimiter(): void;
  /** The limiter admitted the attempt: publishes `dsql:connect:rate-limit-wait` when it had to wait. */
  admitted(): void;
  /** The TCP connection is up (before TLS): call it when the driver shows that moment separately. */
  tcpConnected(): void;
  /** The transport is ready for the startup message (TCP and TLS done); authentication starts. */
  dialed(): void;
  /**
   * The connection is authenticated: publishes `dsql:connect:end` (`ok`); the returned probe
   * reports its close — `undefined` when nobody listened and nothing counted as the attempt
   * started, so an adapter watches the connection only when someone will hear of it.
   */
  succeeded(): ConnectionProbe | undefined;
  /** The attempt failed: publishes `dsql:connect:end` with the outcome and reason derived from `err`. */
  failed(err: unknown): void;
}

const NOOP_ATTEMPT: ConnectAttemptProbe = Object.freeze({
  waitingForLimiter: () => {},
  admitted: () => {},
  tcpConnected: () => {},
  dialed: () => {},
  succeeded: () => undefined,
  failed: () => {},
});

let attemptIds = 0;
let connectionIds = 0;

function listened(): boolean {
  return channels.connectStart.hasSubscribers || channels.connectEnd.hasSubscribers || channels.connectRateLimitWait.hasSubscribers || channels.connectionClosed.hasSubscribers;
}

/**
 * A probe for one connection attempt to `where`; publishes `dsql:connect:start` at once. With a
 * `logger` (the session's `logger` option) it also logs a failed attempt and the connection's
 * close, subscribers or not; with `stats` (the session's counters) it counts the outcome, the
 * rate-limit wait and the close with the same values it publishes. Adapters get it from their
 * session (`session.probeConnectAttempt()`).
 *
 * @example
 * const probe = probeConnectAttempt({ endpoint: config.host, region: config.region, port: config.port, user: config.user, database: config.database });
 */
export function probeConnectAttempt(where: DsqlEndpointFields, logger?: DsqlLogger, stats?: DsqlStatsRecorder): ConnectAttemptProbe {
  if (logger === undefined && stats === undefined && !listened()) return NOOP_ATTEMPT;
  const attemptId = ++attemptIds;
  const started = monotonicMs();
  let waitStarted: number | undefined;
  let waitMs = 0;
  let ended = false;
  /** Phase marks (monotonic ms): the dial starts when the limiter admitted the attempt. */
  let dialStarted = started;
  let tcpAt: number | undefined;
  let dialedAt: number | undefined;
  if (channels.connectStart.hasSubscribers) channels.connectStart.publish({ ...where, attemptId });
  const end = (fields: { outcome: DsqlConnectOutcome; reason: string | undefined; sqlstate: string | undefined; connectionId: number | undefined }): void => {
    if (ended) return;
    ended = true;
    stats?.connectEnded(fields.outcome);
    const now = monotonicMs();
    const phases = {
      dialMs: dialedAt === undefined ? undefined : dialedAt - dialStarted,
      tlsMs: dialedAt === undefined || tcpAt === undefined ? undefined : dialedAt - tcpAt,
      authMs: dialedAt === undefined || fields.outcome !== 'ok' ? undefined : now - dialedAt,
    };
    const message = { ...where, attemptId, ...fields, durationMs: now - started, rateLimitWaitMs: waitMs, ...phases };
    if (channels.connectEnd.hasSubscribers) channels.connectEnd.publish(message);
    if (logger !== undefined && fields.outcome !== 'ok') logConnectFailure(logger, message);
  };
  return {
    waitingForLimiter: () => void (waitStarted = monotonicMs()),
    tcpConnected: () => void (tcpAt ??= monotonicMs()),
    dialed: () => void (dialedAt ??= monotonicMs()),
    admitted: () => {
      dialStarted = monotonicMs();
      if (waitStarted === undefined) return;
      waitMs = dialStarted - waitStarted;
      waitStarted = undefined;
      // Admitted at once (a token was in the bucket) is not a wait: only a held attempt is reported.
      if (waitMs >= 1) stats?.rateLimitWaited();
      if (waitMs >= 1 && channels.connectRateLimitWait.hasSubscribers) channels.connectRateLimitWait.publish({ ...where, attemptId, waitMs });
    },
    succeeded: () => {
      const connectionId = ++connectionIds;
      end({ outcome: 'ok', reason: undefined, sqlstate: undefined, connectionId });
      const opened = monotonicMs();
      let closed = false;
      return {
        closed: (reason) => {
          if (closed) return;
          closed = true;
          stats?.connectionClosed(reason);
          const message = { ...where, connectionId, reason, ageMs: monotonicMs() - opened };
          if (channels.connectionClosed.hasSubscribers) channels.connectionClosed.publish(message);
          if (logger !== undefined) logConnectionClosed(logger, message);
        },
      };
    },
    failed: (err) => {
      if (waitStarted !== undefined) {
        // The limiter's own wait ran out or was aborted.
        waitMs = monotonicMs() - waitStarted;
        waitStarted = undefined;
      }
      const { outcome, reason, sqlstate } = connectOutcome(err);
      end({ outcome, reason, sqlstate, connectionId: undefined });
    },
  };
}

/**
 * Why a connection closed, from what its adapter saw (the contract of `DsqlConnectionCloseReason`):
 * lost without the client asking → `server_closed` when it was idle, else `error`; closed by the
 * client (pool or application) → `lifetime` when it reached the lifetime window's lower bound,
 * `idle` when it sat unused for the idle timeout, else `client`.
 *
 * @example
 * connectionCloseReason({ lost: true, idle: true, ageMs: 1200, idleMs: 300 }, session.lifetime) // 'server_closed'
 */
export function connectionCloseReason(
  seen: { lost: boolean; idle: boolean; ageMs: number; idleMs: number },
  lifetime: { readonly maxLifetimeSeconds: readonly [number, number]; readonly idleTimeoutMillis: number },
): DsqlConnectionCloseReason {
  if (seen.lost) return seen.idle ? 'server_closed' : 'error';
  // Timers fire a little early or late: a few ms of slack so a retirement on time counts as one.
  if (seen.ageMs + 5 >= lifetime.maxLifetimeSeconds[0] * 1000) return 'lifetime';
  if (seen.idle && lifetime.idleTimeoutMillis > 0 && seen.idleMs + 5 >= lifetime.idleTimeoutMillis) return 'idle';
  return 'client';
}
