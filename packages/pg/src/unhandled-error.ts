import { errorMonitor, type EventEmitter } from 'node:events';
import { redact } from '@dsql/core';

/** Who dropped the event: decides what the warning tells the user to do. */
export type ErrorEventSource = 'DsqlPool' | 'DsqlClient';

const ADVICE: Record<ErrorEventSource, string> = {
  DsqlPool:
    'The connection has left the pool and the next query opens a new one; the process goes on. ' +
    "Listen with pool.on('error', (err, client) => …) to see every such event.",
  DsqlClient:
    'Its pending queries failed with that error and later ones fail with DsqlConnectionLostError; the process goes on. ' +
    "Create a new client (or use a DsqlPool, which replaces lost connections), and listen with client.on('error', (err) => …) to see every such event.",
};

/** Warning `code` of {@link emitErrorSafely}'s one-time warning. */
export const CONNECTION_LOST_WARNING = 'DSQL_CONNECTION_LOST';

// Once per process and source (not per pool or per client): a process that opens clients per
// request would otherwise print one warning per lost connection.
const warned = new Set<ErrorEventSource>();

/**
 * Emits an `'error'` event the way `EventEmitter#emit` does, except when nobody listens: then,
 * instead of throwing (which ends the process, since pg emits these from socket callbacks), it
 * calls `errorMonitor` listeners and emits a `process` warning (type `DsqlWarning`, code
 * `DSQL_CONNECTION_LOST`) once per process and source. The warning names the error's (redacted)
 * message, never a token. `emit` is the emitter's original `emit`.
 *
 * Both node-postgres objects emit `'error'` only for a dead connection: pg-pool for an idle
 * client it has just removed, pg's `Client` when its socket failed or closed, after failing the
 * pending queries with that same error. Nothing is left for the error to tell except that it
 * happened, which is what the warning does.
 *
 * @example
 * override emit(event: string | symbol, ...args: unknown[]): boolean {
 *   return event === 'error' ? emitErrorSafely(this, 'DsqlPool', args, (...a) => super.emit('error', ...a)) : super.emit(event, ...args);
 * }
 */
export function emitErrorSafely(
  emitter: EventEmitter,
  source: ErrorEventSource,
  args: unknown[],
  emit: (...args: unknown[]) => boolean,
): boolean {
  if (emitter.listenerCount('error') > 0) return emit(...args);
  if (emitter.listenerCount(errorMonitor) > 0) emitter.emit(errorMonitor, ...args);
  if (!warned.has(source)) {
    warned.add(source);
    const err = args[0];
    const what = err instanceof Error ? err.message : String(err);
    process.emitWarning(
      `A ${source} connection was closed (${redact(what)}) and no 'error' listener was attached. ${ADVICE[source]} ` +
        'This warning is shown once per process.',
      { type: 'DsqlWarning', code: CONNECTION_LOST_WARNING },
    );
  }
  return false;
}
