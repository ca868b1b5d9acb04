/**
 * Cancelling a running statement of a node-postgres connection with PostgreSQL's CancelRequest:
 * a new connection to the same endpoint carries the target connection's process id and secret
 * key (from its BackendKeyData), and the server interrupts that connection's statement, which
 * then fails with 57014 `canceling statement due to user request`.
 *
 * Why not pg's own `Client#cancel(client, query)`: it sends the request without TLS (Aurora
 * DSQL accepts nothing without TLS) and reads `client.activeQuery`, deprecated in pg 8. Why not
 * Kysely's `pg_cancel_backend()`: it needs a second pooled connection, which with `max: 1` is the
 * very one running the statement. The request here is made by a `pg.Connection` that pg itself
 * builds for the pool's own client class and options, so it dials what the pool dials (DSQL's
 * `hostaddr` included) and negotiates TLS with the pool's settings (SNI, certificate check,
 * `sslnegotiation=direct`); only the CancelRequest replaces pg's startup message.
 */

/** How long a cancel request may take (connect, TLS, send) before it is given up. */
export const CANCEL_TIMEOUT_MS = 10_000;

/** The key a server gave a connection for cancelling its statements (pg's client fields). */
export interface PgCancelKey {
  readonly processID?: number | null | undefined;
  readonly secretKey?: number | null | undefined;
}

/** The parts of a `pg.Connection` used to send a CancelRequest (pg 8). */
interface PgWireConnection {
  connect(port: number, host: string): void;
  requestSsl(): void;
  cancel(processID: number, secretKey: number): void;
  end(): void;
  readonly stream: { destroy(): void };
  on(event: 'connect' | 'sslconnect' | 'end', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'connect' | 'sslconnect', listener: () => void): unknown;
}

/** A never-connected client of the pool's class: only its settings and its `pg.Connection` are used. */
interface PgControlClient {
  readonly connection: PgWireConnection;
  readonly host: string;
  readonly port: number;
  readonly ssl?: unknown;
  readonly sslNegotiation?: string;
}

/** `pg.Pool`'s public `Client` and `options` fields: how the pool makes its connections. */
export interface PgClientFactory {
  readonly Client?: (new (options: object) => unknown) | undefined;
  readonly options?: object | undefined;
}

/**
 * Sends a CancelRequest for the statement running on the connection holding `key`. Resolves once
 * the server has read it and closed the request connection; `stillRunning()` is checked just
 * before sending, so a statement that ended meanwhile is left alone (PostgreSQL would otherwise
 * cancel whatever the connection runs by then). Never throws synchronously; every failure
 * (refused, timed out, no key) rejects the returned promise.
 *
 * @example
 * await sendCancelRequest(pool, client, () => running === statement);
 */
export function sendCancelRequest(pool: PgClientFactory, key: PgCancelKey, stillRunning: () => boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const { processID, secretKey } = key;
    if (typeof processID !== 'number' || typeof secretKey !== 'number') {
      reject(new Error('@dsql/kysely: cannot cancel the statement: the server gave this connection no cancel key (BackendKeyData).'));
      return;
    }
    if (typeof pool.Client !== 'function' || pool.options === undefined) {
      reject(new Error('@dsql/kysely: cannot cancel the statement: the pool has no `Client` class and `options` (a pg.Pool, or a DsqlPool, has both).'));
      return;
    }
    let control: PgControlClient;
    try {
      control = new pool.Client(pool.options) as PgControlClient;
    } catch (err) {
      reject(err as Error);
      return;
    }
    const con = control.connection;
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => {
      con.stream.destroy();
      finish(new Error(`@dsql/kysely: the cancel request got no answer within ${CANCEL_TIMEOUT_MS / 1000} s.`));
    }, CANCEL_TIMEOUT_MS);
    timer.unref();
    let sent = false;
    const send = (): void => {
      // The server closes the request connection after reading it; nothing more is exchanged.
      if (!stillRunning()) return void con.stream.destroy();
      con.cancel(processID, secretKey);
      sent = true;
    };
    con.on('end', () => finish());
    // A reset after the request went out is the server closing the connection it has read.
    con.on('error', (err) => finish(sent && (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : err));
    if (control.ssl) {
      // As pg's client does it: SSLRequest then TLS, or TLS at once with sslnegotiation=direct.
      if (control.sslNegotiation !== 'direct') con.once('connect', () => con.requestSsl());
      con.once('sslconnect', send);
    } else {
      con.once('connect', send);
    }
    con.connect(control.port, control.host);
  });
}
