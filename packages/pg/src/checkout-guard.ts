import type { EventEmitter } from 'node:events';

/** What the guard needs of a checked-out client: pg's events and pg-pool's `release`. */
export interface CheckedOutClient extends EventEmitter {
  release(err?: Error | boolean): void;
}

/**
 * Makes a checked-out client safe to hold while its connection dies.
 *
 * pg-pool listens for `error` on idle clients only. While the application (or Drizzle, Kysely,
 * `pool.transaction()`…) holds a client, a connection that dies — DSQL's 60-minute limit, a
 * network blip, a failover — makes pg emit `error` on the client, and with no listener Node
 * ends the process, although a pending query already rejects with that same error.
 *
 * The guard listens until the client is released. The first error is recorded and, unless the
 * holder listens on the client itself (pg-pool's own `pool.query()` does, and so may the
 * application), emitted on the pool as `pool.emit('error', err, client)`, the way pg-pool reports
 * idle clients. The pool must survive an `'error'` event nobody listens to (`DsqlPool#emit`
 * does): a lost checked-out connection must never end the process. Releasing the client hands
 * pg-pool the recorded error, so the broken client is closed and removed instead of returned
 * (pg-pool would also notice that it is no longer queryable).
 *
 * Returns the guarded `release` (also installed as `client.release`).
 *
 * @example
 * pool.connect((err, client, done) => {
 *   if (client) done = guardCheckout(pool, client);
 * });
 */
export function guardCheckout(pool: EventEmitter, client: CheckedOutClient): (err?: unknown) => void {
  let lost: Error | undefined;
  const onError = (err: Error): void => {
    if (lost !== undefined) return; // a socket error is often followed by the close: report once
    lost = err;
    if (client.listenerCount('error') > 1) return; // the holder handles it
    pool.emit('error', err, client);
  };
  client.on('error', onError);
  const release = client.release;
  const guardedRelease = (err?: unknown): void => {
    client.removeListener('error', onError);
    release.call(client, (err || lost) as Error | boolean | undefined);
  };
  client.release = guardedRelease;
  return guardedRelease;
}
