// What the router (endpoint-router.ts) shares with adapters: the shapes of a routed endpoint,
// attempt and health report, and which failed attempts count against an endpoint's health.
import { classifyError } from '../errors/sqlstate.js';
import { DsqlAbortError } from '../errors/errors.js';
import type { DsqlEndpointRef } from './events.js';

/** What the router needs of an endpoint: how events name it. */
export interface RoutedEndpoint {
  readonly ref: DsqlEndpointRef;
}

/**
 * Opens and closes one connection to `endpoint` (the adapter's own connect path, with that
 * endpoint's token and TLS), resolving when it authenticated. Rejecting, or not settling before
 * `signal` aborts, means the endpoint is still unhealthy.
 *
 * @example
 * router.useProbe(async (endpoint, signal) => { const c = await openConnection(endpoint, signal); await c.close(); });
 */
export type EndpointProbe<E> = (endpoint: E, signal: AbortSignal) => Promise<void>;

/**
 * One connection attempt routed by {@link EndpointRouter.attempt}: report exactly one outcome.
 *
 * @example
 * const attempt = session.router.attempt();
 * try { await dial(attempt.endpoint); attempt.succeeded(); } catch (err) { attempt.failed(err); throw err; }
 */
export interface RoutedAttempt<E> {
  readonly endpoint: E;
  /** The connection authenticated: restores the endpoint if it was unhealthy, records the connect time. */
  succeeded(): void;
  /** The attempt failed: a failure of the endpoint (refused, reset, timed out, unavailable) marks it unhealthy. */
  failed(err: unknown): void;
}

/**
 * The health of one endpoint, as {@link EndpointRouter.health} reports it.
 *
 * @example
 * session.router.health().filter((h) => !h.healthy).map((h) => h.region);
 */
export interface EndpointHealth extends DsqlEndpointRef {
  readonly healthy: boolean;
  /** Consecutive failures while unhealthy (the probe's backoff grows with them). */
  readonly failures: number;
  /** Smoothed connect time of recent successful attempts, in ms (undefined before the first). */
  readonly connectMs: number | undefined;
}

/**
 * Errors that say nothing about the endpoint's health: the caller's abort, the rate limiter,
 * access denied (the same identity would be refused elsewhere too), configuration and
 * credentials. Everything else an attempt can meet — refused, reset, timed out, "unavailable",
 * too many connections, a TLS failure — counts against the endpoint.
 */
const NOT_THE_ENDPOINT = new Set(['rate-limited', 'access-denied', 'config', 'credentials', 'occ-conflict', 'unsupported']);

/**
 * Whether a failed connection attempt counts against its endpoint's health.
 *
 * @example
 * if (isEndpointFailure(err)) console.warn('endpoint down?', err);
 */
export function isEndpointFailure(err: unknown): boolean {
  if (err instanceof DsqlAbortError) return false;
  if (NOT_THE_ENDPOINT.has(classifyError(err).kind)) return false;
  return true;
}

/** The reason an event gives for a failed attempt: the socket's own code, else the error's kind. */
export function reasonOf(err: unknown): { reason: string; sqlstate: string | undefined } {
  const { kind, sqlstate } = classifyError(err);
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  // A socket's own code (ECONNREFUSED, ECONNRESET, ETIMEDOUT) says more than "transient".
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return { reason: code.toLowerCase(), sqlstate };
  return { reason: kind, sqlstate };
}

