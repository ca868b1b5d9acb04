import { nestedTransactionError as scopeError, runInTransactionScope, type DsqlUnsupportedError, type NestedTransactionWording } from '@dsql/core';

/** How this adapter's nested-transaction error names its callbacks and their owner. */
const WORDING: NestedTransactionWording = {
  callback: 'a transaction callback (sql.begin() or transaction())',
  owner: 'sql',
  wait: 'forever when every connection is held, since Postgres.js has no queue timeout',
};

/**
 * The `DsqlUnsupportedError` for `called` (`'sql.begin()'`, `'transaction()'`) when it was called
 * from inside a running transaction callback of the same `sql` (`scope`), else `undefined`. The
 * check and its contract live in @dsql/core (`nestedTransactionError`); this names Postgres.js's
 * wording.
 *
 * @example
 * const nested = nestedTransactionError(sql, 'sql.begin()');
 * if (nested) return Promise.reject(nested);
 */
export function nestedTransactionError(scope: object, called: string): DsqlUnsupportedError | undefined {
  return scopeError(scope, called, WORDING);
}

/**
 * Runs a transaction callback as an open scope of the `sql` (`scope`), so that
 * {@link nestedTransactionError} recognises calls made from inside it (@dsql/core's
 * `runInTransactionScope`).
 *
 * @example
 * const value = await runInsideTransaction(sql, () => fn(tx));
 */
export const runInsideTransaction: <T>(scope: object, fn: () => Promise<T> | T) => Promise<T> = runInTransactionScope;
