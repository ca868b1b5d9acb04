/**
 * Retrying of failed connection attempts for a pool's checkouts, callback style so that the
 * successful path (nearly every checkout) costs one closure and nothing else.
 */

/** What {@link retryConnect} needs to know; all supplied by the pool. */
export interface ConnectRetryPolicy {
  /** True when a failed attempt may succeed if tried again (rate exceeded, too many connections, waking up, reset). */
  isTransient(err: unknown): boolean;
  /** Delay before attempt `attempt + 1` (attempt is 1 after the first failure). */
  delayMs(attempt: number): number;
  /** Total time budget from the first attempt, in ms; attempts stop when the next would start after it. */
  budgetMs: number;
  /** Maximum number of attempts, the first included. */
  maxAttempts: number;
  /** Turns the final error into what the caller sees (classification, hint, redaction). */
  describe(err: unknown, attempts: number): Error;
  /** Called before each retry, for logs and metrics. */
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
}

type Callback<C> = (err: Error | undefined, client: C | undefined, done: (release?: unknown) => void) => void;
const NOOP = (): void => {};

/**
 * Calls `attempt(cb)` and, when it fails for a transient reason, tries again with backoff
 * while the budget lasts; the caller's callback sees either a client or the final, described
 * error. Non-transient errors are passed on at once (described).
 *
 * @example
 * retryConnect((cb) => super.connect(cb), policy, (err, client, done) => { ... });
 */
export function retryConnect<C>(attempt: (cb: Callback<C>) => void, policy: ConnectRetryPolicy, callback: Callback<C>): void {
  let attempts = 0;
  const started = Date.now();
  const run = (): void => {
    attempts++;
    attempt((err, client, done) => {
      if (!err) return callback(undefined, client, done);
      const delay = policy.delayMs(attempts);
      const retry =
        attempts < policy.maxAttempts && policy.isTransient(err) && Date.now() - started + delay < policy.budgetMs;
      if (!retry) return callback(policy.describe(err, attempts), undefined, NOOP);
      policy.onRetry?.(err, attempts, delay);
      setTimeout(run, delay);
    });
  };
  run();
}
