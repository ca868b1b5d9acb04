import { describeConnectError, isDsqlError, type ConnectErrorContext } from '@dsql/core';
import { classifyInPlace } from './classify.js';

/**
 * The error a failed connect hands to the application: pg's own error (a `DatabaseError` when
 * the server refused) with `err.dsql` added. When the server denied access, `err.dsql.hint`
 * says what to check next for this connection (Region, DbConnect vs DbConnectAdmin, expired
 * credentials, token host) — from `describeConnectError` in `@dsql/core` — and the message
 * carries it too, so a log line with just `err.message` is enough to act on.
 *
 * @example
 * const err = describeConnectFailure(e, { host, tokenHost, region, user, admin });
 */
export function describeConnectFailure(err: unknown, context: ConnectErrorContext): Error {
  const error = err instanceof Error ? err : new Error(String(err));
  const classified = classifyInPlace(error) as Error & { dsql?: { kind: string } };
  const described = describeConnectError(error, context);
  if (described !== error && isDsqlError(described) && described.hint) {
    const dsql = { ...classified.dsql, kind: classified.dsql?.kind ?? 'other', hint: described.hint };
    Object.defineProperty(classified, 'dsql', { value: Object.freeze(dsql), enumerable: true, configurable: true, writable: true });
    classified.message = `${classified.message} — ${described.message} ${described.hint}`;
  }
  return classified;
}
