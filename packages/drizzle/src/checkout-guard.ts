/**
 * Drizzle's node-postgres transactions check a client out of the pool (`pool.connect()`) and
 * hold it while the callback runs. pg-pool listens for a checked-out client's `error` event no
 * longer, so a connection lost during the transaction (DSQL closes connections at 60 minutes,
 * a network blip, a failover) would emit an unhandled `error` and end the process — although
 * the pending query already rejects with that error. This guard gives every checked-out client
 * a listener until it is released. `DsqlPool` does this itself for every checkout, so the guard
 * is applied only to other pools (a plain `pg.Pool` passed as `client`).
 */
type ReleasableClient = {
  on(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
  release(err?: Error | boolean): void;
};

type PoolLike = {
  connect(callback?: (err: Error | undefined, client?: ReleasableClient, done?: unknown) => void): unknown;
  totalCount: number;
};

const guarded = new WeakSet<object>();
const ignore = (): void => {};

function guard(client: ReleasableClient): ReleasableClient {
  client.on('error', ignore);
  const release = client.release;
  client.release = function releaseGuarded(err?: Error | boolean) {
    client.removeListener('error', ignore);
    return release.call(client, err);
  };
  return client;
}

/**
 * Makes `pool.connect()` (promise form, which Drizzle uses) hand out guarded clients. Callback
 * calls (pg-pool's own `pool.query`) are left as they are: pg-pool handles those itself.
 *
 * @example
 * guardCheckouts(pool);
 */
export function guardCheckouts(client: unknown): void {
  const pool = client as PoolLike;
  if (typeof pool?.connect !== 'function' || typeof pool.totalCount !== 'number' || guarded.has(pool)) return;
  guarded.add(pool);
  const connect = pool.connect;
  Object.defineProperty(pool, 'connect', {
    configurable: true,
    writable: true,
    value: function connectGuarded(this: PoolLike, callback?: Parameters<PoolLike['connect']>[0]) {
      if (callback) return connect.call(this, callback);
      return (connect.call(this) as Promise<ReleasableClient>).then(guard);
    },
  });
}
