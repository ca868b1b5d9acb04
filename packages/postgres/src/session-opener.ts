import type { Duplex } from 'node:stream';
import { connectWithRetry, type ConnectRateLimiter, type RetryInfo } from '@dsql/core';
import type { Session, SessionOpener } from './dsql-socket.js';
import { startupHandshake } from './handshake.js';

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
  /** One TCP (+TLS) connection attempt. */
  dial(signal: AbortSignal): Promise<Duplex>;
  /** The IAM token, asked for only when the server wants a password. */
  password(): Promise<string>;
  /** Process-wide connection rate limiter of the endpoint, if enabled. */
  limiter?: ConnectRateLimiter | undefined;
  /** No new attempt starts after this many milliseconds. */
  deadlineMs: number;
  /** Turns the final error into the one the application sees (core's `describeConnectError`). */
  describe(err: unknown): unknown;
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
 * const opener = sessionOpener({ dial, password: () => tokens.getToken(), deadlineMs: 29_000, describe, counters });
 */
export function sessionOpener(options: SessionOpenerOptions): SessionOpener {
  const { counters } = options;
  const attempt = async (startup: Buffer, signal: AbortSignal): Promise<Session> => {
    counters.attempts++;
    await options.limiter?.acquire({ signal });
    const socket = await options.dial(signal);
    try {
      const greeting = await startupHandshake(socket, startup, options.password, signal);
      return { socket, greeting };
    } catch (err) {
      socket.destroy();
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
        throw options.describe(err);
      }
    },
    async raw(signal) {
      await options.limiter?.acquire({ signal });
      return options.dial(signal);
    },
  };
}
