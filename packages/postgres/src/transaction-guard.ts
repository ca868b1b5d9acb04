import type postgres from 'postgres';
import { DsqlUnsupportedError } from '@dsql/core';

const ISOLATION = /\bisolation\s+level\s+([a-z ]+?)\s*(?:,|$|\b(?:read\s+(?:write|only)|(?:not\s+)?deferrable)\b)/i;

/**
 * Throws `DsqlUnsupportedError` when `sql.begin(options, …)` asks for an isolation level other
 * than repeatable read, the only one Aurora DSQL offers (it would refuse the BEGIN).
 *
 * @example
 * assertBeginOptions('isolation level serializable'); // throws DsqlUnsupportedError
 */
export function assertBeginOptions(options: string): void {
  const level = ISOLATION.exec(options)?.[1]?.replace(/\s+/g, ' ').toLowerCase();
  if (level !== undefined && level !== 'repeatable read') {
    throw new DsqlUnsupportedError(
      'isolation levels',
      `sql.begin('${options}'): Aurora DSQL only runs transactions at REPEATABLE READ (snapshot isolation); ` +
        `"${level}" is not supported. Drop the isolation level from the begin options.`,
    );
  }
}

function refuseSavepoint(): Promise<never> {
  return Promise.reject(
    new DsqlUnsupportedError(
      'savepoints',
      'sql.savepoint() is not supported by Aurora DSQL (no SAVEPOINT, RELEASE or ROLLBACK TO, so no nested ' +
        'transactions): run the work in the surrounding transaction, or as its own transaction().',
    ),
  );
}

function refuseNestedBegin(): Promise<never> {
  return Promise.reject(
    new DsqlUnsupportedError(
      'savepoints',
      'tx.begin() inside a transaction is not supported by Aurora DSQL: Postgres.js runs it as a SAVEPOINT, and DSQL has ' +
        'no SAVEPOINT, RELEASE or ROLLBACK TO. Run the work in the surrounding transaction, or as its own transaction().',
    ),
  );
}

/**
 * Replaces `tx.savepoint` of a Postgres.js transaction — and `tx.begin`, which Postgres.js 4 runs
 * as a savepoint — with ones that reject at once with a `DsqlUnsupportedError`, before anything
 * is sent: DSQL refuses SAVEPOINT, and the refusal would abort the whole surrounding transaction.
 *
 * @example
 * await sql.begin((tx) => { guardTransaction(tx); return fn(tx); });
 */
export function guardTransaction<TT extends Record<string, unknown>>(tx: postgres.TransactionSql<TT>): postgres.TransactionSql<TT> {
  const own = tx as { savepoint: unknown; begin?: unknown };
  own.savepoint = refuseSavepoint;
  if (typeof own.begin === 'function') own.begin = refuseNestedBegin;
  return tx;
}
