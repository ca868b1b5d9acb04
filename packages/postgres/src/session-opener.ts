import { connectWithRetry, type DsqlSession, type RetryInfo } from '@dsql/core';
import type { Session, SessionOpener } from './dsql-socket.js';
import { startupHandshake } from './handshake.js';
import { dialTls } from './tls-dial.js';

/**
 * Counters of the connections opened for one `sql` instance.
 *
 * @example
 * const { opened, retried } = dsqlStats(sql)!.connections;
 */
export interface ConnectStats {
  /** Sessions opened and authenticated. */
  readonly opened: number;
  /** Attempts made (a retried connection counts each attempt). */
  readonly attempts: number;
  /** Attempts that failed with a transient refusal and were retried. */
  readonly retried: number;
  /** Connections that failed for good (the error reached Postgres.js). */
  readonly failed: number;
}

/** Mutable {@link ConnectStats}, owned by one `sql` instance. */
export interface ConnectCounters {
  opened: number;
  attempts: number;
  retried: number;
  failed: number;
}

/** What a {@link sessionOpener} needs. */
export interface SessionOpenerOptions {
  /**
   * Core's session: where to dial and TLS, the IAM token (asked for only when the server wants a
   * password), the endpoint's rate limiter, and the explanation of a refused connection.
   */
  session: Pick<DsqlSession, 'dial' | 'tls' | 'tokens' | 'limiter' | 'describeConnectError' | 'probeConnectAttempt' | 'closeReason'>;
  /** TCP keep-alive, in seconds (Postgres.js's `keep_alive`). */
  keepAliveSeconds?: number | undefined;
  /** No new attempt starts after this many milliseconds. */
  deadlineMs: number;
  counters: ConnectCounters;
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
  const dial = (signal: AbortSignal) => dialTls({ dial: session.dial, tls: session.tls, keepAliveSeconds: options.keepAliveSeconds }, signal);
  const password = (): Promise<string> => session.tokens.getToken();
  const attempt = async (startup: Buffer, signal: AbortSignal): Promise<Session> => {
    counters.attempts++;
    // Core's diagnostics probe: the limiter wait, the outcome, and (through the DsqlSocket) the close.
    const probe = session.probeConnectAttempt();
    if (session.limiter) {
      probe.waitingForLimiter();
      try {
        await session.limiter.acquire({ signal });
      } catch (err) {
        probe.failed(err);
        throw err;
      }
      probe.admitted();
    }
    let socket: Awaited<ReturnType<typeof dial>> | undefined;
    try {
      socket = await dial(signal);
      const greeting = await startupHandshake(socket, startup, password, signal);
      // Every admitted attempt's outcome goes back to the limiter (an adaptive one backs off on 53400).
      session.limiter?.observe();
      const connection = probe.succeeded();
      return connection ? { socket, greeting, connection, closeReason: session.closeReason } : { socket, greeting };
    } catch (err) {
      socket?.destroy();
      session.limiter?.observe(err);
      probe.failed(err);
      throw err;
    }
  };
  return {
    async session(startup, signal) {
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
        throw session.describeConnectError(err);
      }
    },
    async raw(signal) {
      await session.limiter?.acquire({ signal });
      try {
        const socket = await dial(signal);
        session.limiter?.observe();
        return socket;
      } catch (err) {
        session.limiter?.observe(err);
        throw err;
      }
    },
  };
}
