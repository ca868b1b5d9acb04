/**
 * The `logger` option: what the library decides on its own (a refused connection attempt, a
 * transaction retried after an OCC conflict, a connection recycled or closed by the server),
 * told to any pino-style logger. Everything logged is built from the same fields as the
 * diagnostics messages (channels.ts): names, numbers, outcomes and error kinds, never a token,
 * password or secret, and never an error's message.
 */
import { DsqlConfigError } from '../errors/errors.js';
import { describeValue } from '../errors/redact.js';
import type { RetryInfo, ResolvedRetryOptions } from '../retry.js';
import type { DsqlConnectEndMessage, DsqlConnectionClosedMessage, DsqlTokenStaleServedMessage } from './channels.js';
import type { DsqlFailoverMessage } from '../failover/events.js';
import { transactionOutcome } from './outcomes.js';

/**
 * A logger as the `logger` option takes it: pino's shape (`logger.warn(fields, message)`);
 * pino, bunyan-style wrappers and `console` all fit.
 *
 * @example
 * import pino from 'pino';
 * const pool = new DsqlPool({ host, logger: pino() satisfies DsqlLogger });
 */
export interface DsqlLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * Validates the `logger` option: `undefined`, or an object with `debug`, `info`, `warn` and
 * `error` methods (a `DsqlConfigError` naming the field and the missing method otherwise).
 *
 * @example
 * resolveLogger(pino()) // the logger
 */
export function resolveLogger(value: unknown, field = 'logger'): DsqlLogger | undefined {
  if (value === undefined || value === null) return undefined;
  const missing = typeof value === 'object' || typeof value === 'function' ? LEVELS.filter((l) => typeof (value as Record<string, unknown>)[l] !== 'function') : [...LEVELS];
  if (missing.length > 0) {
    throw new DsqlConfigError(field, describeValue(value), `a logger with debug, info, warn and error methods (pino-style; missing: ${missing.join(', ')})`);
  }
  return value as DsqlLogger;
}

/** Calls the logger; a logger that throws must not break a connection or a transaction. */
function log(logger: DsqlLogger, level: (typeof LEVELS)[number], fields: Record<string, unknown>, message: string): void {
  try {
    logger[level]({ dsql: fields }, message);
  } catch {
    // the application's logger failed: nothing the connector can do about it
  }
}

/**
 * Logs a failed connection attempt (`warn`). @internal
 *
 * @example
 * logConnectFailure(logger, endMessage);
 */
export function logConnectFailure(logger: DsqlLogger, m: Omit<DsqlConnectEndMessage, 'connectionId'>): void {
  const { endpoint, region, user, outcome, reason, sqlstate, durationMs } = m;
  log(logger, 'warn', { endpoint, region, user, outcome, reason, sqlstate, durationMs: Math.round(durationMs) }, `DSQL connection attempt to ${endpoint} failed: ${outcome} (${reason ?? 'unknown'}); transient refusals are retried within the connect deadline`);
}

/**
 * Logs a closed connection: `warn` when the server closed it or it was lost in use, `debug` for
 * a recycle (lifetime), an idle timeout or a close by the application. @internal
 *
 * @example
 * logConnectionClosed(logger, closedMessage);
 */
export function logConnectionClosed(logger: DsqlLogger, m: DsqlConnectionClosedMessage): void {
  const { endpoint, region, connectionId, reason, ageMs } = m;
  const fields = { endpoint, region, connectionId, reason, ageMs: Math.round(ageMs) };
  if (reason === 'server_closed') log(logger, 'warn', fields, `DSQL connection ${connectionId} to ${endpoint} was closed by the server while idle; the next query opens a new one`);
  else if (reason === 'error') log(logger, 'warn', fields, `DSQL connection ${connectionId} to ${endpoint} was lost while in use`);
  else if (reason === 'lifetime') log(logger, 'debug', fields, `DSQL connection ${connectionId} to ${endpoint} recycled at the end of its lifetime`);
  else log(logger, 'debug', fields, `DSQL connection ${connectionId} to ${endpoint} closed (${reason})`);
}

/**
 * The session's default transaction retry with each retry logged (`info`: an OCC conflict or a
 * transient failure absorbed), the user's own `onRetry` still called after. @internal
 *
 * @example
 * const retry = retryWithLogging(config.retry, logger);
 */
export function retryWithLogging(retry: ResolvedRetryOptions | false, logger: DsqlLogger | undefined): ResolvedRetryOptions | false {
  if (retry === false || logger === undefined) return retry;
  const userOnRetry = retry.onRetry;
  return Object.freeze({
    ...retry,
    onRetry: (info: RetryInfo) => {
      const { outcome, errorKind, sqlstate } = transactionOutcome(info.error);
      log(logger, 'info', { attempt: info.attempt, delayMs: info.delayMs, elapsedMs: info.elapsedMs, outcome, errorKind, sqlstate }, `DSQL transaction attempt ${info.attempt} ended in ${outcome}; retrying in ${info.delayMs} ms`);
      userOnRetry?.(info);
    },
  });
}

/**
 * Logs new connections moving to another Regional endpoint: `warn` for a failover (away from a
 * failing endpoint), `info` for a failback (to a more preferred one answering again). @internal
 *
 * @example
 * logEndpointSwitch(logger, 'failover', { from, to, reason: 'timeout' });
 */
export function logEndpointSwitch(logger: DsqlLogger, direction: 'failover' | 'failback', m: DsqlFailoverMessage): void {
  const fields = { direction, fromEndpoint: m.from.endpoint, fromRegion: m.from.region, toEndpoint: m.to.endpoint, toRegion: m.to.region, reason: m.reason };
  if (direction === 'failover') log(logger, 'warn', fields, `DSQL failover: new connections go to ${m.to.endpoint} (${m.to.region}); ${m.from.endpoint} (${m.from.region}) failed: ${m.reason}`);
  else log(logger, 'info', fields, `DSQL failback: new connections go to ${m.to.endpoint} (${m.to.region}) again, it answers`);
}

/**
 * Logs (`warn`) that the current token is being served past its refresh point because the
 * credential source fails (static stability): once when that starts, and once per recheck of
 * the source while it lasts — never per connection. @internal
 *
 * @example
 * logStaleToken(logger, { endpoint, region, user });
 */
export function logStaleToken(logger: DsqlLogger, m: DsqlTokenStaleServedMessage): void {
  const { endpoint, region, user } = m;
  log(logger, 'warn', { endpoint, region, user }, `DSQL credential source failing: connections to ${endpoint} (${region}) use the current ${user} token, still valid, until the source answers again`);
}
