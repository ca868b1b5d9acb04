/**
 * The SQLSTATE of a database error, wherever it sits in the `cause` chain. Drizzle wraps driver
 * errors (`DrizzleQueryError`, cause: pg's `DatabaseError` / Postgres.js's `PostgresError`,
 * both with the SQLSTATE in `code`); core's `classifyError` only names the SQLSTATEs it gives a
 * meaning to, and the migrator also needs "already exists" and friends.
 */
const SQLSTATE = /^[0-9A-Z]{5}$/;
/** Node system error codes that look like a SQLSTATE. */
const SYSTEM_CODES = new Set(['EPIPE', 'EPERM', 'EBUSY', 'EXDEV', 'EIDRM', 'EBADF']);

/**
 * The first SQLSTATE found walking `err` and its causes, if any.
 *
 * @example
 * sqlstateOf(new Error('Failed query', { cause: Object.assign(new Error('exists'), { code: '42P07' }) })); // '42P07'
 */
export function sqlstateOf(err: unknown): string | undefined {
  let node: unknown = err;
  for (let depth = 0; depth < 16 && typeof node === 'object' && node !== null; depth++) {
    const code = (node as { code?: unknown }).code;
    if (typeof code === 'string' && SQLSTATE.test(code) && !SYSTEM_CODES.has(code)) return code;
    node = (node as { cause?: unknown }).cause;
  }
  return undefined;
}
