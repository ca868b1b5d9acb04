import { AsyncLocalStorage } from 'node:async_hooks';
import { DsqlUnsupportedError } from '@dsql/core';

/**
 * One run of a transaction callback (`sql.begin` or `transaction()`): the `sql` it belongs to,
 * whether it is still running, and the nearest callback of another `sql` it runs inside.
 */
interface CallbackFrame {
  /** The top-level `sql` from `dsql()` whose transaction this callback runs in. */
  readonly scope: object;
  /** False once the callback settled: a timer or handler it scheduled may run later, outside it. */
  open: boolean;
  /** The nearest enclosing callback that was open when this one started (another `sql`'s). */
  readonly outer: CallbackFrame | undefined;
}

// The same technique as @dsql/pg's nested-transaction-guard.ts (one store per adapter; see the
// report for a shared one in core). On Node 20/22 an enabled AsyncLocalStorage installs promise
// hooks that tax every promise of the process (@dsql/pg's bench/nested-guard.mjs: a promise-heavy
// loop with no I/O ran at about a third of its speed on Node 20), so the store is enabled only
// while a callback runs somewhere and disabled again when the last one settles: with no
// transaction callback running, nothing is propagated and queries pay nothing. (Node 24's
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
 * The `DsqlUnsupportedError` for `called` (`'sql.begin()'`, `'transaction()'`) when it was
 * called from inside a running transaction callback of the same `sql` (`scope`), else
 * `undefined`. Such an "inner" transaction would run on another connection, commit or fail
 * independently of the outer one, run again whenever the outer one is retried, and — with
 * every connection held by outer transactions — wait for a connection forever (Postgres.js has
 * no queue timeout).
 *
 * Work scheduled inside a callback (a timer, an event handler) that runs after the callback
 * settled is not inside it and passes.
 *
 * @example
 * const nested = nestedTransactionError(sql, 'sql.begin()');
 * if (nested) return Promise.reject(nested);
 */
export function nestedTransactionError(scope: object, called: string): DsqlUnsupportedError | undefined {
  if (openCallbacks === 0) return undefined;
  for (let frame = openFrame(); frame !== undefined; frame = frame.outer) {
    if (frame.open && frame.scope === scope) {
      return new DsqlUnsupportedError(
        'nested transactions',
        `${called} was called inside a transaction callback (sql.begin() or transaction()) of the same sql. It would ` +
          'not be part of the open transaction: it would run as a separate transaction on another connection, commit ' +
          'or fail on its own, run again whenever the outer transaction is retried, and wait for a free connection ' +
          'while the outer one holds its own — forever when every connection is held, since Postgres.js has no queue ' +
          'timeout (Aurora DSQL has no nested transactions or savepoints). Use the `tx` passed to the callback instead, ' +
          'or start the second transaction after the first one has finished.',
      );
    }
  }
  return undefined;
}

/**
 * Runs a transaction callback marked as open for `scope`, so that
 * {@link nestedTransactionError} recognises calls made from inside it; the mark is cleared when
 * the callback settles.
 *
 * @example
 * const value = await runInsideTransaction(sql, () => fn(tx));
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
