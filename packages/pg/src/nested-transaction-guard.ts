import { assertNoOpenTransaction, runInTransactionScope, type NestedTransactionWording } from '@dsql/core';

/** How this adapter's nested-transaction error names its callbacks and their owner. */
const WORDING: NestedTransactionWording = { callback: 'a transaction() callback', owner: 'pool' };

/**
 * Throws `DsqlUnsupportedError` when called from inside a running `transaction()` callback of the
 * same pool (`scope`: a pool and every client it creates share one prepared-options object). The
 * check and its contract live in @dsql/core (`assertNoOpenTransaction`); this names pg's wording.
 *
 * @example
 * assertNotInsideTransaction(this.#dsql, 'pool.transaction()');
 */
export function assertNotInsideTransaction(scope: object, called: string): void {
  assertNoOpenTransaction(scope, called, WORDING);
}

/**
 * Runs a `transaction()` callback as an open scope of the pool (`scope`), so that
 * {@link assertNotInsideTransaction} recognises calls made from inside it (@dsql/core's
 * `runInTransactionScope`).
 *
 * @example
 * const value = await runInsideTransaction(this.#dsql, () => fn(client));
 */
export const runInsideTransaction: <T>(scope: object, fn: () => Promise<T> | T) => Promise<T> = runInTransactionScope;
