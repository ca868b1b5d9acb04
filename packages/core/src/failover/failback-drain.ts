// After new connections failed back to the preferred endpoint, the router's `onFailback`
// listeners are called once `probe.drainAfterFailbackMs` passed (if they still go there), so an
// adapter closes its connections on the other endpoints (endpoint-router.ts).

/**
 * The pending drain after a failback and its listeners. A listener's failure is swallowed: it
 * must not stop routing. The timer is unref'd.
 *
 * @example
 * const drain = new FailbackDrain<Endpoint>(5_000);
 * drain.schedule(preferred, () => router.pick() === preferred);
 */
export class FailbackDrain<E> {
  readonly #delayMs: number | undefined;
  readonly #listeners = new Set<(preferred: E) => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `delayMs` undefined: never drains (no `drainAfterFailbackMs`). */
  constructor(delayMs: number | undefined) {
    this.#delayMs = delayMs;
  }

  /** Adds a listener; returns a function that removes it. */
  on(listener: (preferred: E) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls the listeners with `preferred` after the delay, if `stillPreferred()` then (it did not fail over again meanwhile). Replaces a pending drain. */
  schedule(preferred: E, stillPreferred: () => boolean): void {
    if (this.#delayMs === undefined) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!stillPreferred()) return;
      for (const listener of this.#listeners) {
        try {
          listener(preferred);
        } catch {
          // A listener's failure must not stop routing.
        }
      }
    }, this.#delayMs);
    this.#timer.unref?.();
  }

  /** No more drains: the pending one is cancelled, the listeners forgotten. */
  close(): void {
    this.#listeners.clear();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
