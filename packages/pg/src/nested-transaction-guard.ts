import { AsyncLocalStorage } from 'node:async_hooks';
import { DsqlUnsupportedError } from '@dsql/core';

/**
 * One run of a `transaction()` callback: the pool (or standalone client) it belongs to, whether
 * it is still running, and the nearest callback of another pool it runs inside.
 */
interface CallbackFrame {
  /** Identifies the pool: a pool and every client it creates share one prepared-options object. */
  readonly scope: object;
  /** False once the callback settled: a timer or handler it scheduled may run later, outside it. */
  open: boolean;
  /** The nearest enclosing callback that was open when this one started (another pool's). */
  readonly outer: CallbackFrame | undefined;
}

// On Node 20/22 an enabled AsyncLocalStorage installs promise hooks that tax every promise of the
// process (a tight `await` loop ran at about a third of its speed on Node 20, see bench/nested-guard.mjs), so the store is enabled only
// while a callback runs somewhere and disabled again when the last one settles. With no
// transaction callback running, nothing is propagated and `pool.query()` pays nothing. (Node 24's
// AsyncContextFrame-based storage has no such cost; disabling it there is harmless.)
const frames = new AsyncLocalStorage<CallbackFrame>();
let openCallbacks = 0;

/** The innermost open callback frame around the caller, if any. */
function openFrame(): CallbackFrame | undefined {
  let frame = frames.getStore();
  while (frame !== undefined && !frame.open) frame = frame.outer;
  return frame;
}

/**
 * Throws `DsqlUnsupportedError` when called from inside a running `transaction()` callback of
 * the same pool (`scope`): that "inner" transaction would run on another connection, commit or
 * fail independently of the outer one, run again when the outer one is retried, and wait for a
 * connection forever when every pooled connection is held by an outer transaction.
 *
 * Work scheduled inside a callback (a timer, an event handler) that runs after the callback
 * settled is not inside it and passes.
 *
 * @example
 * assertNotInsideTransaction(this.#dsql, 'pool.transaction()');
 */
export function assertNotInsideTransaction(scope: object, called: string): void {
  if (openCallbacks === 0) return;
  for (let frame = openFrame(); frame !== undefined; frame = frame.outer) {
    if (frame.open && frame.scope === scope) {
      throw new DsqlUnsupportedError(
        'nested transactions',
        `${called} was called inside a transaction() callback of the same pool. It would not be part of the ` +
          'open transaction: it would run as a separate transaction on another connection, commit or fail on its own, ' +
          'run again whenever the outer transaction is retried, and wait for a free connection while the outer one ' +
          'holds its own (Aurora DSQL has no nested transactions or savepoints). Use the `tx` passed to the callback ' +
          'instead, or start the second transaction after the first one has finished.',
      );
    }
  }
}

/**
 * Runs a `transaction()` callback marked as open for `scope`, so that
 * {@link assertNotInsideTransaction} recognises calls made from inside it; the mark is cleared
 * when the callback settles.
 *
 * @example
 * const value = await runInsideTransaction(this.#dsql, () => fn(client));
 */
export async function runInsideTransaction<T>(scope: object, fn: () => Promise<T> | T): Promise<T> {
  const frame: CallbackFrame = { scope, open: true, outer: openCallbacks > 0 ? openFrame() : undefined };
  openCallbacks++;
  try {
    return await frames.run(frame, fn);
  } finally {
    frame.open = false;
    if (--openCallbacks === 0) frames.disable();
  }
}
