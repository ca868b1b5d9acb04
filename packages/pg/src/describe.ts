import { classifyInPlace, describeConnectError, isDsqlError, type ConnectErrorContext } from '@dsql/core';

/**
 * The error a failed connect hands to the application: pg's own error (a `DatabaseError` when
 * the server refused) through core's error funnel, so it carries `err.dsql`. When the server
 * denied access, `err.dsql.hint` says what to check next for this connection (Region, DbConnect
 * vs DbConnectAdmin, expired credentials, token host) — `describeConnectError` in `@dsql/core` —
 * and, because pg's error is kept rather than wrapped, the message carries it too, so a log line
 * with just `err.message` is enough to act on.
 *
 * @example
 * const err = describeConnectFailure(e, { host, tokenHost, region, user, admin });
 */
export function describeConnectFailure(err: unknown, context: ConnectErrorContext): Error {
  const error = classifyInPlace(err instanceof Error ? err : new Error(String(err)), context);
  const described = describeConnectError(error, context);
  if (described !== error && isDsqlError(described) && described.hint) {
    error.message = `${error.message} — ${described.message} ${described.hint}`;
  }
  return error;
}
