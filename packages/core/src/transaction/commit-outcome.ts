/**
 * The end of a transaction, decided once for every adapter: what a failed or odd COMMIT means,
 * and whether the connection may be reused afterwards.
 *
 * Contract (every adapter's `transaction()` refers here): a COMMIT the server answered with an
 * error rolled the transaction back — that error is thrown as it is (and may be retried, e.g.
 * 40001). A COMMIT without an answer (the connection died with it in flight) has an **unknown
 * outcome**: it becomes a {@link CommitOutcomeUnknownError} (cause: the connection error), is
 * **never retried**, and the connection is discarded. A COMMIT answered `ROLLBACK` (a statement
 * failed inside the callback and its error was caught) is a {@link DsqlTransactionRolledBackError}.
 */
import { errorChain } from '../errors/error-chain.js';
import { CommitOutcomeUnknownError, DsqlTransactionRolledBackError, isDsqlError } from '../errors/errors.js';
import { isConnectionLoss } from '../errors/sqlstate.js';

/**
 * True when `err`, raised by a statement, is the server's answer (a SQLSTATE, and no sign anywhere
 * in the `cause` chain of a lost connection). For COMMIT: the transaction was rolled back, nothing
 * committed; for BEGIN: no transaction is open.
 *
 * @example
 * if (!serverAnswered(err)) discardConnection();
 */
export function serverAnswered(err: unknown): boolean {
  return !isConnectionLoss(err) && errorChain(err).some((f) => f.sqlstate !== undefined);
}

/**
 * The error to throw for a COMMIT that failed with `err`: `err` itself when the server answered
 * (or when it is already one of this package's decisions, such as `DsqlTransactionRolledBackError`
 * or `DsqlConnectionLostError` for a COMMIT that was never sent), else a `CommitOutcomeUnknownError`
 * wrapping it. See the module's contract.
 *
 * @example
 * try { await conn.query('COMMIT'); } catch (err) { throw commitFailure(err); }
 */
export function commitFailure(err: unknown): unknown {
  if (isDsqlError(err) || serverAnswered(err)) return err;
  return new CommitOutcomeUnknownError({ cause: err });
}

/**
 * Throws `DsqlTransactionRolledBackError` when COMMIT's command tag is `ROLLBACK` (PostgreSQL
 * answers a COMMIT of an aborted transaction that way, without an error).
 *
 * @example
 * assertCommitted((await client.query('COMMIT')).command);
 */
export function assertCommitted(tag: string | void | undefined): void {
  if (typeof tag === 'string' && tag.toUpperCase() === 'ROLLBACK') throw new DsqlTransactionRolledBackError();
}

/**
 * Sends COMMIT through `send` and applies the contract: resolves with `send`'s value when
 * committed, throws `DsqlTransactionRolledBackError` for a `ROLLBACK` tag (read by `tagOf`),
 * the server's error, or a `CommitOutcomeUnknownError` (then the connection must be discarded:
 * see {@link mustDiscardAfter}).
 *
 * @example
 * const result = await sendCommit(() => session.query('commit'), (r) => r.command);
 */
export async function sendCommit<R>(send: () => Promise<R>, tagOf: (result: R) => string | void | undefined): Promise<R> {
  let result: R;
  try {
    result = await send();
  } catch (err) {
    throw commitFailure(err);
  }
  assertCommitted(tagOf(result));
  return result;
}

/**
 * Sends ROLLBACK through `send`; never throws (the error that caused the rollback is the one the
 * caller must see). Resolves `true` when ROLLBACK failed: the connection is then in an unknown
 * state and must be closed, not reused.
 *
 * @example
 * const discard = await sendRollback(() => client.query('ROLLBACK'));
 */
export async function sendRollback(send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return false;
  } catch {
    return true;
  }
}

/**
 * Whether the connection of a transaction that ended with `err` must be discarded: its COMMIT
 * outcome is unknown (a `CommitOutcomeUnknownError`), or the connection was lost.
 *
 * @example
 * client.release(mustDiscardAfter(err) ? err : undefined);
 */
export function mustDiscardAfter(err: unknown): boolean {
  return err instanceof CommitOutcomeUnknownError || isConnectionLoss(err);
}
