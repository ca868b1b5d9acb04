import { connectWithRetry, isTransientError } from '@dsql/core';

type Callback<C> = (err: Error | undefined, client: C | undefined, done: (release?: unknown) => void) => void;
const NOOP = (): void => {};

/** What {@link connectRetrying} needs besides the attempt itself. */
export interface ConnectRetryPolicy {
  /** Time allowed for all attempts together, from the first one (`connectionTimeoutMillis`). */
  deadlineMs: number;
  /** Turns the final error into what the caller sees (classification, next step). */
  describe(err: unknown): Error;
  /** Before each further attempt (a standalone client resets its connection here). */
  beforeRetry?(): void;
}

/**
 * Calls `attempt` and hands its client to `callback`; when the attempt is refused for a
 * transient reason (53400 rate exceeded, 53300 too many connections, cluster waking up, reset),
 * further attempts go through `connectWithRetry` from `@dsql/core` (capped exponential backoff
 * with jitter) until one succeeds or `deadlineMs` runs out.
 *
 * The first attempt is made directly, callback style, because this sits on pg-pool's checkout
 * path (every `pool.query()`): a successful checkout costs one closure and no promise.
 *
 * @example
 * connectRetrying((cb) => super.connect(cb), { deadlineMs: 30_000, describe: (e) => e as Error }, callback);
 */
export function connectRetrying<C>(attempt: (cb: Callback<C>) => void, policy: ConnectRetryPolicy, callback: Callback<C>): void {
  const started = Date.now();
  attempt((err, client, done) => {
    if (!err) return callback(undefined, client, done);
    const left = policy.deadlineMs - (Date.now() - started);
    if (!isTransientError(err) || left <= 0) return callback(policy.describe(err), undefined, NOOP);
    connectWithRetry<[C | undefined, (release?: unknown) => void]>(
      (n) => {
        if (n === 1) return Promise.reject(err); // the first attempt was the one above
        policy.beforeRetry?.();
        return new Promise((resolve, reject) => attempt((e, c, d) => (e ? reject(e) : resolve([c, d]))));
      },
      { deadlineMs: left, maxAttempts: 1000, baseDelayMs: 100, maxDelayMs: 2000 },
    ).then(
      ([c, d]) => callback(undefined, c, d),
      (e: unknown) => callback(policy.describe(e), undefined, NOOP),
    );
  });
}
