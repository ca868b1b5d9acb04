import { assertNoSavepointStatement } from '@dsql/core';

/** Text of a pg query argument (a string or a `{ text }` config), or undefined for anything else. */
function queryText(query: unknown): string | undefined {
  if (typeof query === 'string') return query;
  if (query !== null && typeof query === 'object' && typeof (query as { text?: unknown }).text === 'string') {
    return (query as { text: string }).text;
  }
  return undefined;
}

/**
 * Throws `DsqlUnsupportedError` when `query` (a pg query argument) is a SAVEPOINT, RELEASE
 * [SAVEPOINT] or ROLLBACK TO statement, before anything is sent: the refusal is @dsql/core's
 * (`assertNoSavepointStatement`); this reads pg's query argument.
 *
 * @example
 * assertNoSavepoint('SAVEPOINT a'); // throws DsqlUnsupportedError
 */
export function assertNoSavepoint(query: unknown): void {
  const text = queryText(query);
  if (text !== undefined) assertNoSavepointStatement(text);
}
