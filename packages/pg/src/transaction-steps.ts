/**
 * pg's side of @dsql/core's transaction runner (`runTransaction`): BEGIN / COMMIT / ROLLBACK on a
 * pg client, and how its nested-transaction error names callbacks and owner. Everything else —
 * retry, the COMMIT-outcome decision, discarding a broken connection, the nested check — is core's.
 */
import type * as pg from 'pg';
import { DsqlUnsupportedError, NestedTransactionGuard, type TransactionDriver } from '@dsql/core';

/**
 * BEGIN / COMMIT / ROLLBACK on a pg client (COMMIT returns its command tag: `ROLLBACK` means the
 * transaction had already failed).
 *
 * @example
 * const driver: TransactionDriver<pg.PoolClient> = { connect: () => pool.connect(), ...transactionSteps, release };
 */
export const transactionSteps: Pick<TransactionDriver<pg.ClientBase>, 'begin' | 'commit' | 'rollback'> = {
  begin: async (c) => void (await c.query('BEGIN')),
  commit: async (c) => (await c.query('COMMIT')).command,
  rollback: async (c) => void (await c.query('ROLLBACK')),
};

/**
 * The nested-transaction guard of a pool (shared by every client it creates — and by ORMs that
 * scope their transactions by the pool they run on —) or of a standalone client; `undefined`
 * owner: `detectNestedTransactions: false`.
 *
 * @example
 * const nesting = nestedTransactionGuard(pool);
 */
export function nestedTransactionGuard(owner: object | undefined): NestedTransactionGuard {
  return new NestedTransactionGuard(owner, { callback: 'a transaction() callback', owner: 'pool' });
}

/**
 * The error for `transaction()` called on a client whose transaction is open (`where`: the method called).
 *
 * @example
 * if (inTransaction) throw nestedTransactionError('client.transaction()');
 */
export function nestedTransactionError(where: string): DsqlUnsupportedError {
  return new DsqlUnsupportedError(
    'nested transactions',
    `${where} was called while a transaction is already open; Aurora DSQL has no nested transactions or savepoints. ` +
      'Do the work with the open transaction\'s client, or run it as its own transaction afterwards.',
  );
}
