/**
 * What Aurora DSQL refuses in a transaction, refused once here before anything is sent: an
 * isolation level other than REPEATABLE READ, and savepoints (so nested transactions). The server's
 * own refusal would abort the surrounding transaction; these errors say what to do instead.
 */
import { DsqlUnsupportedError } from '../errors/errors.js';

/**
 * Throws `DsqlUnsupportedError` (feature `'isolation levels'`) when `level` is set and is not
 * repeatable read — DSQL's only level. `asked` names what the caller wrote
 * (`"db.transaction(fn, { isolationLevel: 'serializable' })"`), `remedy` how to fix it.
 *
 * @example
 * assertRepeatableRead('serializable', 'setIsolationLevel(\'serializable\')', 'Remove setIsolationLevel().');
 */
export function assertRepeatableRead(level: string | undefined, asked: string, remedy: string): void {
  if (level === undefined) return;
  const normal = level.replace(/\s+/g, ' ').trim().toLowerCase();
  if (normal === 'repeatable read') return;
  throw new DsqlUnsupportedError(
    'isolation levels',
    `${asked}: Aurora DSQL only runs transactions at REPEATABLE READ (snapshot isolation, with optimistic concurrency); ` +
      `"${normal}" is not supported. ${remedy}`,
  );
}

/**
 * The `DsqlUnsupportedError` (feature `'savepoints'`) for `what` — a savepoint statement or a
 * method that would send one (`'SAVEPOINT'`, `'sql.savepoint()'`, `'trx.savepoint()'`); `how`,
 * when given, says why `what` is a savepoint (`'Postgres.js runs it as a SAVEPOINT'`).
 *
 * @example
 * return Promise.reject(savepointError('sql.savepoint()'));
 */
export function savepointError(what: string, how?: string, feature = 'savepoints'): DsqlUnsupportedError {
  return new DsqlUnsupportedError(
    feature,
    `${what} is not supported by Aurora DSQL${how === undefined ? '' : ` (${how})`}: it has no SAVEPOINT, RELEASE or ROLLBACK TO, ` +
      'so no nested transactions or savepoints, and the refusal would abort the surrounding transaction. Run the work in the ' +
      'surrounding transaction, or as its own transaction().',
  );
}

// A regular expression rather than a SQL parser: this runs only on statements sent while a
// transaction is open and needs just the first keyword, so a WASM parser would be pure cost.
// Leading whitespace, `--` line comments and `/* */` block comments are skipped.
const SAVEPOINT_SQL = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*(savepoint|release|rollback\s+to|rollback\s+transaction\s+to|rollback\s+work\s+to)\b/i;

/**
 * Throws {@link savepointError} when `sql` is a SAVEPOINT, RELEASE [SAVEPOINT] or ROLLBACK TO statement.
 *
 * @example
 * assertNoSavepointStatement('SAVEPOINT a'); // throws DsqlUnsupportedError
 */
export function assertNoSavepointStatement(sql: string): void {
  const match = SAVEPOINT_SQL.exec(sql);
  if (match) throw savepointError(match[1]!.replace(/\s+/g, ' ').toUpperCase());
}

/**
 * The `DsqlUnsupportedError` (feature `'nested transactions'`) for `called` — a function that runs
 * a transaction — handed `given`, a transaction's own handle (Kysely's `trx`, Postgres.js's `tx`)
 * where it needs the database: it would be a nested transaction, which DSQL cannot run (no
 * savepoints). Refused before anything is sent.
 *
 * @example
 * if (db.isTransaction) return Promise.reject(nestedTransactionHandleError('transaction()', 'a transaction'));
 */
export function nestedTransactionHandleError(called: string, given: string): DsqlUnsupportedError {
  return new DsqlUnsupportedError(
    'nested transactions',
    `${called} was called with ${given}; Aurora DSQL has no nested transactions or savepoints. ` +
      'Use the open transaction as it is, or run the work as its own transaction() afterwards.',
  );
}
