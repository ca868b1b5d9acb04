import { DsqlUnsupportedError } from '@dsql/core';

// A regular expression rather than libpg-query: this runs only on statements sent while a
// `transaction()` is open and needs just the first keyword, so a WASM parser would be pure cost.
// Leading whitespace, `--` line comments and `/* */` block comments are skipped.
const SAVEPOINT_SQL = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*(savepoint|release|rollback\s+to|rollback\s+transaction\s+to|rollback\s+work\s+to)\b/i;

/** Text of a pg query argument (a string or a `{ text }` config), or undefined for anything else. */
function queryText(query: unknown): string | undefined {
  if (typeof query === 'string') return query;
  if (query !== null && typeof query === 'object' && typeof (query as { text?: unknown }).text === 'string') {
    return (query as { text: string }).text;
  }
  return undefined;
}

/**
 * Throws `DsqlUnsupportedError` when `query` is a SAVEPOINT, RELEASE [SAVEPOINT] or ROLLBACK TO
 * statement: DSQL refuses them and the refusal would abort the surrounding transaction, so this
 * fails fast, before anything is sent.
 *
 * @example
 * assertNoSavepoint('SAVEPOINT a'); // throws DsqlUnsupportedError
 */
export function assertNoSavepoint(query: unknown): void {
  const text = queryText(query);
  if (text === undefined) return;
  const match = SAVEPOINT_SQL.exec(text);
  if (match) {
    const keyword = match[1]!.replace(/\s+/g, ' ').toUpperCase();
    throw new DsqlUnsupportedError(
      'savepoints',
      `${keyword} is not supported by Aurora DSQL (no savepoints or nested transactions); ` +
        'run the work as its own transaction() instead',
    );
  }
}
