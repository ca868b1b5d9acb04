import { DsqlConfigError } from '../errors/errors.js';
import { describeValue } from '../errors/redact.js';
import { withRetry, type RetryInfo } from '../retry.js';
import { isTransientError } from '../errors/sqlstate.js';
import type { Sleep } from '../timers.js';

/**
 * Options of {@link connectWithRetry}.
 *
 * @example
 * const options: ConnectRetryOptions = { deadlineMs: 10_000, onRetry: ({ attempt, error }) => log.warn({ attempt }, String(error)) };
 */
export interface ConnectRetryOptions {
  /** No new attempt starts after this many milliseconds since the first. Default 30,000. */
  deadlineMs?: number;
  /** Cancels waiting between attempts. */
  signal?: AbortSignal;
  /** Called before each wait. */
  onRetry?: (info: RetryInfo) => void;
  /** Attempts in total. Default 10. */
  maxAttempts?: number;
  /** First backoff window. Default 100 ms (a refused connection costs a round-trip and a TLS handshake). */
  baseDelayMs?: number;
  /** Backoff cap. Default 5,000 ms (a waking cluster takes seconds). */
  maxDelayMs?: number;
  sleep?: Sleep;
  now?: () => number;
  random?: () => number;
}

/**
 * Opens a connection with `connectFn(attempt)`, retrying failures that go away by themselves
 * — 53400 rate exceeded, 53300 too many connections, "waking up cluster", connection
 * reset/refused/timeouts, and a credential source that did not answer (a `DsqlCredentialsError`
 * with `transient: true`: IMDS or the container endpoint unreachable, timing out, throttling or
 * answering 5xx while a token had to be signed) — with capped exponential backoff and full
 * jitter, within `deadlineMs`; exactly what {@link isTransientError} accepts. Access denied,
 * bad configuration, a missing or misconfigured credential source and anything else are
 * rethrown at once.
 *
 * @example
 * const client = await connectWithRetry(async () => {
 *   const c = new pg.Client(opts);
 *   try { await c.connect(); return c; } catch (e) { await c.end().catch(() => {}); throw e; }
 * }, { deadlineMs: 10_000 });
 */
export function connectWithRetry<C>(connectFn: (attempt: number) => Promise<C>, options: ConnectRetryOptions = {}): Promise<C> {
  const deadlineMs = options.deadlineMs ?? 30_000;
  if (typeof deadlineMs !== 'number' || !(deadlineMs >= 0)) {
    throw new DsqlConfigError('deadlineMs', describeValue(deadlineMs), 'a number of milliseconds >= 0');
  }
  return withRetry(connectFn, {
    maxAttempts: options.maxAttempts ?? 10,
    baseDelayMs: options.baseDelayMs ?? 100,
    maxDelayMs: options.maxDelayMs ?? 5000,
    maxElapsedMs: deadlineMs,
    retryOn: isTransientError,
    ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
}
