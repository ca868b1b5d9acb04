import { assertNoOpenTransaction, runInTransactionScope, type NestedTransactionWording } from '@dsql/core';

/** How this adapter's nested-transaction error names its callbacks and their owner. */
const WORDING: NestedTransactionWording = { callback: 'a transaction() callback', owner: 'pool' };

/**
 * Throws `DsqlUnsupportedError` when called from inside a running `transaction()` callback of the
 * same pool (`scope`: the `DsqlPool`, shared by every client it creates — and by ORMs that scope
 * their transactions by the pool they run on —, or a standalone `DsqlClient`). The
 * check and its contract live in @dsql/core (`assertNoOpenTransaction`); this names pg's wording.
 *
 * @example
 * assertNotInsideTransaction(pool, 'pool.transaction()');
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
 * const value = await runInsideTransaction(pool, () => fn(client));
 */
export const runInsideTransaction: <T>(scope: object, fn: () => Promise<T> | T) => Promise<T> = runInTransactionScope;
