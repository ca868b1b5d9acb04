import type pg from 'pg';

/**
 * Puts the password function back on a pg client after it authenticated.
 *
 * Why this touches pg's fields: pg calls a `password` function when the server asks for the
 * password, then stores the string it returned on `client.password` and
 * `client.connectionParameters.password` (non-enumerable, but `util.inspect(x, { showHidden: true })`
 * prints it). pg offers no option to keep the function, and a token must not stay readable on a
 * long-lived object. Both fields are read again only during authentication (which has finished
 * when `connect()` calls back), so restoring the function changes nothing pg does. Pinned by
 * `test/forget-password.int.test.ts` against the supported pg versions.
 *
 * @example
 * client.connect((err) => { if (!err) forgetPassword(client, passwordFn); });
 */
export function forgetPassword(client: pg.Client, password: unknown): void {
  if (typeof password !== 'function') return; // a fixed password the user chose stays as pg keeps it
  const fields = client as unknown as { password?: unknown; connectionParameters?: { password?: unknown } };
  if (typeof fields.password === 'string') fields.password = password;
  if (fields.connectionParameters && typeof fields.connectionParameters.password === 'string') {
    fields.connectionParameters.password = password;
  }
}
