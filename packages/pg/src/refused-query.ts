// A statement DsqlClient refuses before pg sees it — the connection was lost earlier, or a
// savepoint inside transaction() — reported the way pg reports its own failures.
import { DsqlConnectionLostError, classifyInPlace } from '@dsql/core';

type QueryCallback = (err: Error, ...rest: unknown[]) => void;

/**
 * Reports `err` the way pg would for this call: through its callback, else as a rejected promise.
 *
 * @example
 * return failQuery(values, callback, connectionLostError(lost, pooled));
 */
export function failQuery(values: unknown, callback: unknown, err: Error): Promise<never> | undefined {
  classifyInPlace(err); // the error funnel: this client's own refusals carry err.dsql too
  const cb = typeof callback === 'function' ? callback : typeof values === 'function' ? values : undefined;
  if (cb) {
    process.nextTick(() => (cb as QueryCallback)(err));
    return undefined;
  }
  return Promise.reject(err);
}

/**
 * The error of a statement sent after the connection was lost (pg's own says only "not queryable").
 *
 * @example
 * const err = connectionLostError(new Error('Connection terminated unexpectedly'), true);
 */
export function connectionLostError(lost: Error, pooled: boolean): DsqlConnectionLostError {
  return new DsqlConnectionLostError(
    `Connection lost: this client's connection was closed earlier (${lost.message}) and is not queryable; the statement was not sent.`,
    {
      cause: lost,
      hint: pooled
        ? 'Release the client (client.release()) and check out another one: the pool replaces lost connections.'
        : 'A client cannot reconnect: create a new DsqlClient (or use a DsqlPool, which replaces lost connections).',
    },
  );
}
