import type { DsqlLifetimePolicy } from '@dsql/core';

/** Anything with pg-pool's `options` bag: a `pg.Pool`. */
interface PoolWithOptions {
  options: { maxLifetimeSeconds?: number };
}

/**
 * Gives every new connection of `pool` its own maximum lifetime, drawn from the policy's
 * `[min, max]` window, so a pool's connections are not all retired (and reopened) at once.
 *
 * pg-pool implements the retirement itself (its public `maxLifetimeSeconds` option): it reads
 * the option for each new connection right after the connection opens, retires the connection
 * at once if it is idle when the time comes, and otherwise marks it and retires it on release,
 * so a connection is never closed in the middle of a query or transaction. Turning the option
 * into a getter that draws a fresh value on each read gives each connection its own jittered
 * lifetime while keeping all of pg-pool's behaviour (no private pool state is touched).
 *
 * @example
 * const pool = new pg.Pool();
 * jitterMaxLifetime(pool, createDsqlSession({ host, maxLifetimeSeconds: [2700, 3300] }).lifetime);
 */
export function jitterMaxLifetime(pool: PoolWithOptions, policy: Pick<DsqlLifetimePolicy, 'nextMaxLifetimeSeconds'>): void {
  // pg-pool reads the option twice per connection (`!== 0`, then `* 1000`): every draw is > 0.
  Object.defineProperty(pool.options, 'maxLifetimeSeconds', {
    configurable: true,
    enumerable: true,
    get: () => policy.nextMaxLifetimeSeconds(),
    set: () => {
      // pg-pool assigns its default once, in its constructor, before this getter exists.
    },
  });
}
