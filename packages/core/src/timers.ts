import { DsqlAbortError } from './errors/errors.js';

/**
 * A cancellable delay: `(ms, signal?) => Promise<void>`. Injectable for tests.
 *
 * @example
 * const instant: Sleep = async () => {}; // for tests: withRetry(fn, { sleep: instant })
 */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * Waits `ms` milliseconds; rejects with a {@link DsqlAbortError} (cause: the signal's reason)
 * as soon as `signal` aborts.
 *
 * @example
 * await sleep(100, AbortSignal.timeout(50)); // rejects after 50 ms
 */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DsqlAbortError('The wait was aborted.', { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new DsqlAbortError('The wait was aborted.', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
