import pg from 'pg';
import { retryConnect, type ConnectRetryPolicy } from './connect-retry.js';

/**
 * pg's private connection state, reset between attempts. node-postgres has no public way to
 * retry `connect()` on the same `Client` ("You cannot reuse a client"); a pool sidesteps this
 * by retrying with a new client, but a standalone `DsqlClient` is the object the application
 * holds, so after a failed attempt it gets a fresh `Connection` and its connect flags cleared
 * back to what pg's constructor sets. Covered by the standalone-client retry test.
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
  _dsqlAttachConnection(): void;
}

/** Connection options pg's `Client` constructor derives from its config, kept for fresh connections. */
export interface ConnectionSeed {
  stream?: (() => unknown) | undefined;
  keepAlive?: boolean | undefined;
  keepAliveInitialDelayMillis?: number | undefined;
}

const seeds = new WeakMap<object, ConnectionSeed>();

/** Remembers how to build a fresh connection for `client` (call from its constructor). */
export function rememberSeed(client: object, seed: ConnectionSeed): void {
  seeds.set(client, seed);
}

function freshConnection(client: PgClientInternals & object): void {
  const old = client.connection;
  old.removeAllListeners();
  old.on('error', () => {}); // late socket errors of the failed attempt go nowhere
  if (!old.stream.destroyed) old.stream.destroy();
  const seed = seeds.get(client) ?? {};
  const params = client.connectionParameters;
  client.connection = new pg.Connection({
    stream: seed.stream,
    ssl: params.ssl,
    sslNegotiation: params.sslnegotiation,
    keepAlive: seed.keepAlive ?? false,
    keepAliveInitialDelayMillis: seed.keepAliveInitialDelayMillis ?? 0,
    encoding: params.client_encoding || 'utf8',
  } as ConstructorParameters<typeof pg.Connection>[0]) as PgClientInternals['connection'];
  client._connecting = false;
  client._connected = false;
  client._connectionError = false;
  client._ending = false;
  client._ended = false;
  client._queryable = true;
  client._connectionCallback = null;
  client._dsqlAttachConnection();
}

/**
 * Connects a standalone client with `attempt`, retrying transient failures per `policy` and
 * giving the client a fresh connection before each retry.
 *
 * @example
 * reconnectable(client, (cb) => pgConnect(cb), policy, (err) => done(err));
 */
export function reconnectable(
  client: object,
  attempt: (cb: (err: Error | null | undefined) => void) => void,
  policy: ConnectRetryPolicy,
  callback: (err: Error | undefined) => void,
): void {
  let first = true;
  retryConnect<object>(
    (cb) => {
      if (!first) freshConnection(client as PgClientInternals & object);
      first = false;
      attempt((err) => (err ? cb(err, undefined, () => {}) : cb(undefined, client, () => {})));
    },
    policy,
    (err) => callback(err),
  );
}
