// The statement reporting to core's failover router (`endpointProbe.suspectAfterMs`): each
// statement a DsqlClient sends is reported started, and answered when pg settles it, so one left
// unanswered has its endpoint checked at once.
import type * as pg from 'pg';
import type { StatementWatch } from '@dsql/core';

/** pg's own `Client#query`, called with the client as `this`. */
export type PgQuery = (this: pg.Client, ...args: unknown[]) => unknown;

/**
 * A `Submittable` (pg-cursor, pg-query-stream, a `Query`): pg reports its errors through its own events.
 *
 * @example
 * if (isSubmittable(config)) return pgQuery.call(client, config);
 */
export function isSubmittable(config: unknown): boolean {
  return typeof config === 'object' && config !== null && typeof (config as { submit?: unknown }).submit === 'function';
}

/** A query config object carrying its own `callback` (pg then returns no promise to follow). */
function hasOwnCallback(config: unknown): boolean {
  return typeof config === 'object' && config !== null && typeof (config as { callback?: unknown }).callback === 'function';
}

/**
 * Whether {@link followedQuery} can follow this call: streams, cursors and config objects with
 * their own callback are not followed (they report through their own events; the periodic health
 * check still covers their endpoint).
 *
 * @example
 * if (watch !== undefined && isFollowable(config)) return followedQuery(client, pgQuery, watch, config, values, callback);
 */
export function isFollowable(config: unknown): boolean {
  return !isSubmittable(config) && !hasOwnCallback(config);
}

/**
 * Runs pg's `query` with the statement reported to core's failover router (`watch`): started now,
 * answered when pg settles it — through the caller's callback, else the promise pg returns (a
 * query pg refuses at once, synchronously or not, is answered too). Only called with several
 * endpoints, for calls {@link isFollowable} accepts.
 *
 * @example
 * return followedQuery(client, pgQuery, watch, 'SELECT 1', undefined, undefined);
 */
export function followedQuery(client: pg.Client, pgQuery: PgQuery, watch: StatementWatch, config: unknown, values: unknown, callback: unknown): unknown {
  watch.started();
  const answered = (): void => watch.answered();
  try {
    if (typeof callback === 'function') {
      return pgQuery.call(client, config, values, (...args: unknown[]) => (answered(), (callback as (...a: unknown[]) => void)(...args)));
    }
    if (typeof values === 'function') {
      return pgQuery.call(client, config, (...args: unknown[]) => (answered(), (values as (...a: unknown[]) => void)(...args)));
    }
    const result = pgQuery.call(client, config, values);
    // Both outcomes handled here: the caller's own promise keeps its rejection for the caller.
    if (result instanceof Promise || typeof (result as { then?: unknown } | undefined)?.then === 'function') (result as Promise<unknown>).then(answered, answered);
    else answered();
    return result;
  } catch (err) {
    answered();
    throw err;
  }
}
