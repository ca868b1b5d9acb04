/**
 * The one place where `@dsql/pg` writes node-postgres's private `Client` state, on the connection
 * path. Each write exists because pg has no public hook for it; both are pinned by
 * `test/pg-client-private-state.test.ts` to the pg versions they were checked against (the
 * peer range, ^8.11.0; the test fails on a pg outside it, so an upgrade re-checks these fields):
 *
 * - {@link resetConnection}: a standalone `DsqlClient` retries a refused connect (53400 rate
 *   exceeded, 53300, cluster waking up) on the same object. pg refuses a second `connect()`
 *   ("Client has already been connected. You cannot reuse a client.") and offers no reset; a pool
 *   sidesteps it by retrying with a new client (that path writes nothing here), but a standalone
 *   client is the object the application holds. Composition does not fit: `DsqlClient` is a
 *   `pg.Client` (the public contract), so it cannot swap in another client, and the refusals to
 *   retry come from the server after the startup, inside pg's own connect.
 * - {@link forgetPassword}: pg keeps the string its password function returned (the IAM token)
 *   on hidden fields after authenticating; there is no option to keep the function.
 */
// Runtime class from pg's default import, types from a namespace import (see client.ts).
import pgModule from 'pg';
import type * as pg from 'pg';

/**
 * pg's private connection state, reset between connect attempts of a standalone client.
 * node-postgres has no public way to retry `connect()` on the same `Client` ("You cannot reuse
 * a client"); a pool sidesteps this by retrying with a new client, but a standalone
 * `DsqlClient` is the object the application holds, so after a refused attempt it gets a fresh
 * `Connection` and its connect flags set back to what pg's constructor sets. Covered by the
 * standalone-client retry test against the emulator.
 */
interface PgClientInternals {
  connection: pg.Connection & { stream: { destroy(): void; destroyed?: boolean } };
  connectionParameters: { ssl?: unknown; sslnegotiation?: string; client_encoding?: string };
  _connecting: boolean;
  _connected: boolean;
  _connectionError: boolean;
  _ending: boolean;
  _ended: boolean;
  _queryable: boolean;
  _connectionCallback: unknown;
}

/** The `pg.Client` options that shape its `Connection` (what pg's constructor passes on). */
export interface ConnectionSeed {
  stream?: (() => unknown) | undefined;
  /** TLS options of the next attempt, when they differ from the constructor's (another endpoint). */
  ssl?: unknown;
  keepAlive?: boolean | undefined;
  keepAliveInitialDelayMillis?: number | undefined;
}

/**
 * Gives `client` a new, unconnected `Connection` after a failed connect attempt and clears the
 * flags that made pg refuse a second `connect()`. `attach` re-registers listeners on the new
 * connection.
 *
 * @example
 * resetConnection(client, { stream, keepAlive }, (con) => con.on('errorMessage', classify));
 */
export function resetConnection(client: pg.Client, seed: ConnectionSeed, attach: (con: pg.Connection) => void): void {
  const c = client as unknown as PgClientInternals;
  const old = c.connection;
  old.removeAllListeners();
  old.on('error', () => {}); // late socket errors of the failed attempt go nowhere
  if (!old.stream.destroyed) old.stream.destroy();
  const params = c.connectionParameters;
  c.connection = new pgModule.Connection({
    stream: seed.stream,
    ssl: seed.ssl ?? params.ssl,
    sslNegotiation: params.sslnegotiation,
    keepAlive: seed.keepAlive ?? false,
    keepAliveInitialDelayMillis: seed.keepAliveInitialDelayMillis ?? 0,
    encoding: params.client_encoding || 'utf8',
  } as ConstructorParameters<typeof pg.Connection>[0]) as PgClientInternals['connection'];
  c._connecting = false;
  c._connected = false;
  c._connectionError = false;
  c._ending = false;
  c._ended = false;
  c._queryable = true;
  c._connectionCallback = null;
  attach(c.connection);
}

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
