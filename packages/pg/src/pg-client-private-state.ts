import pg from 'pg';

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
  c.connection = new pg.Connection({
    stream: seed.stream,
    ssl: params.ssl,
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
