/** A promise as Postgres.js 4's `sql.begin()` returns it: withdrawable while it waits for a connection. */
interface Withdrawable {
  cancel?: (() => Promise<void>) | undefined;
}

/**
 * Postgres.js 4.2's `Leasing` (what its `sql.begin()` returns; 4.0 and 4.1 return a plain promise,
 * on which these methods do nothing): a promise with `cancel()`, which
 * withdraws it while it still waits for a connection (it then rejects with `57014`) and does
 * nothing once it has one, and `signal(abortSignal)`, which cancels it when the signal aborts.
 *
 * @example
 * const tx = sql.begin((tx) => tx`select 1`).signal(AbortSignal.timeout(1000));
 */
export type Leasing<T> = Promise<T> & {
  cancel(): Promise<void>;
  signal(signal: AbortSignal | null | undefined): Leasing<T>;
};

/**
 * Keeps `sql.begin()` of `dsql()` a Postgres.js 4 `Leasing` although it may run several attempts
 * (OCC retry), each a `begin` of Postgres.js's own: `cancel()` withdraws the attempt that waits for
 * a connection now, and every later attempt as it starts (a retry after the caller gave up would
 * be a surprise). Once an attempt has its connection, cancelling it does nothing, as in Postgres.js.
 *
 * @example
 * const attempts = new LeasedAttempts();
 * const result = attempts.leasing(withRetry(() => beginOnce(…, (raw) => attempts.started(raw))));
 */
export class LeasedAttempts {
  #current: Withdrawable | undefined;
  #withdrawn = false;

  /** An attempt's `begin` has been called and returned `raw`. */
  started(raw: Withdrawable): void {
    this.#current = raw;
    if (this.#withdrawn) void raw.cancel?.();
  }

  /** `promise` with `cancel()` and `signal()` acting on the attempts. */
  leasing<T>(promise: Promise<T>): Leasing<T> {
    const cancel = (): Promise<void> => {
      this.#withdrawn = true;
      return this.#current?.cancel?.() ?? Promise.resolve();
    };
    const leased = Object.assign(promise, {
      cancel,
      signal(signal: AbortSignal | null | undefined): Leasing<T> {
        if (!signal) return leased;
        if (signal.aborted) {
          void cancel();
          return leased;
        }
        const abort = (): void => void cancel();
        signal.addEventListener('abort', abort, { once: true });
        const remove = (): void => signal.removeEventListener('abort', abort);
        promise.then(remove, remove);
        return leased;
      },
    });
    return leased;
  }
}
