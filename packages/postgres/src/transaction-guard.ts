import type postgres from 'postgres';
import { assertRepeatableRead, savepointError } from '@dsql/core';

const ISOLATION = /\bisolation\s+level\s+([a-z ]+?)\s*(?:,|$|\b(?:read\s+(?:write|only)|(?:not\s+)?deferrable)\b)/i;

/**
 * Throws `DsqlUnsupportedError` when `sql.begin(options, …)` asks for an isolation level other
 * than repeatable read (the refusal is @dsql/core's `assertRepeatableRead`; this reads
 * Postgres.js's begin options string).
 *
 * @example
 * assertBeginOptions('isolation level serializable'); // throws DsqlUnsupportedError
 */
export function assertBeginOptions(options: string): void {
  assertRepeatableRead(ISOLATION.exec(options)?.[1], `sql.begin('${options}')`, 'Drop the isolation level from the begin options.');
}

const refuseSavepoint = (): Promise<never> => Promise.reject(savepointError('sql.savepoint()'));
const refuseNestedBegin = (): Promise<never> =>
  Promise.reject(savepointError('tx.begin() inside a transaction', 'Postgres.js runs it as a SAVEPOINT'));

/**
 * Replaces `tx.savepoint` of a Postgres.js transaction — and `tx.begin`, which Postgres.js 4 runs
 * as a savepoint — with ones that reject at once with @dsql/core's savepoint refusal, before
 * anything is sent.
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
