import { CommitOutcomeUnknownError, DsqlTransactionRolledBackError } from '@dsql/core';

/** The part of a pg client a transaction attempt needs. */
export interface TransactionConnection {
  query(text: string): Promise<{ command?: string | null }>;
  getTransactionStatus?(): string | null;
}

/** Result of one attempt: the value, or the error plus whether the connection must be discarded. */
export type AttemptOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown; broken: Error | undefined };

/** True for an error the server sent (it has a severity); false for a socket or client-side error. */
export function isServerError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && typeof (err as { severity?: unknown }).severity === 'string';
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Runs `fn` once inside BEGIN … COMMIT on `conn` and reports how it went, never throwing:
 * - `fn` throws → ROLLBACK; if the ROLLBACK itself fails the connection is reported `broken`
 *   (its state is unknown, so it must be destroyed, never reused);
 * - a statement failed but `fn` swallowed the error (status `E`, or COMMIT answering ROLLBACK)
 *   → `DsqlTransactionRolledBackError` (nothing was committed);
 * - COMMIT refused by the server (40001 OCC conflict, 54000 size limit…) → that error (the
 *   server has rolled back, the connection is fine);
 * - COMMIT's answer lost (connection error after COMMIT was sent) → `CommitOutcomeUnknownError`,
 *   connection broken. The caller must never retry this one: the changes may be committed.
 *
 * @example
 * const outcome = await attemptTransaction(client, (c) => c.query('UPDATE t SET n = n + 1'));
 */
export async function attemptTransaction<C extends TransactionConnection, T>(
  conn: C,
  fn: (conn: C) => Promise<T> | T,
): Promise<AttemptOutcome<T>> {
  try {
    await conn.query('BEGIN');
  } catch (error) {
    return { ok: false, error, broken: isServerError(error) ? undefined : asError(error) };
  }
  let value: T;
  try {
    value = await fn(conn);
  } catch (error) {
    return { ok: false, error, broken: await rollback(conn) };
  }
  if (conn.getTransactionStatus?.() === 'E') {
    const error = new DsqlTransactionRolledBackError();
    return { ok: false, error, broken: await rollback(conn) };
  }
  let answer: { command?: string | null };
  try {
    answer = await conn.query('COMMIT');
  } catch (error) {
    if (isServerError(error)) return { ok: false, error, broken: undefined };
    return { ok: false, error: new CommitOutcomeUnknownError({ cause: error }), broken: asError(error) };
  }
  if (answer.command === 'ROLLBACK') return { ok: false, error: new DsqlTransactionRolledBackError(), broken: undefined };
  return { ok: true, value };
}

async function rollback(conn: TransactionConnection): Promise<Error | undefined> {
  try {
    await conn.query('ROLLBACK');
    return undefined;
  } catch (err) {
    return asError(err);
  }
}
