/**
 * Browser stand-in for `node:async_hooks` (swapped in by browser-build.ts). Browsers have no
 * AsyncLocalStorage yet (the TC39 AsyncContext proposal is not shipped), so nothing is carried
 * across `await`s: `run` calls the function and `getStore` answers undefined. What rests on it
 * in core is the nested-transaction check (transaction/scope.ts), which therefore never fires in
 * a page — it reports only what it can see, so it is off rather than wrong.
 */

/** `AsyncLocalStorage` without propagation. @internal */
export class AsyncLocalStorage<T> {
  run<R>(_store: T, fn: () => R): R {
    return fn();
  }

  getStore(): T | undefined {
    return undefined;
  }

  disable(): void {}
}
