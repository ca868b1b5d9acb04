/**
 * The `transport` options: PostgreSQL over TCP (default) or over WebSocket, as DSQL serves it at
 * `wss://<endpoint>:443` for browsers and runtimes without TCP sockets.
 */
import { DsqlConfigError } from '../errors/errors.js';
import { describeValue } from '../errors/redact.js';

/**
 * How connections reach the cluster.
 *
 * @example
 * const transport: DsqlTransport = 'websocket';
 */
export type DsqlTransport = 'tcp' | 'websocket';

/**
 * What `webSocketConstructor` must be: the standard `WebSocket` constructor (the browser's, a
 * runtime's global, or the `ws` package's `WebSocket` on Node 20). On Node the `ws` package
 * also takes TLS options (`ca`, `servername`…) as its third argument, which this library
 * passes; other constructors ignore it.
 *
 * @example
 * import { WebSocket } from 'ws';
 * const ctor: WebSocketConstructorLike = WebSocket;
 */
export type WebSocketConstructorLike = new (url: string, protocols?: string | string[], options?: object) => WebSocketLike;

/**
 * The part of the standard WebSocket API this library uses.
 *
 * @example
 * const ws: WebSocketLike = new WebSocket('wss://example.com');
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: never) => void): void;
  removeEventListener(type: string, listener: (event: never) => void): void;
}

/** The transport options, resolved. */
export interface ResolvedTransport {
  transport: DsqlTransport;
  /** With `'websocket'`: the URL to open (default `wss://<host>:443`). */
  webSocketUrl: string | undefined;
  /** With `'websocket'`: the constructor given, else the runtime's global `WebSocket` (checked when a connection opens). */
  webSocketConstructor: WebSocketConstructorLike | undefined;
}

/**
 * Validates `transport`, `webSocketUrl` and `webSocketConstructor`; errors name the field.
 *
 * @example
 * resolveTransport({ transport: 'websocket' }, 'abc.dsql.us-east-1.on.aws', 'verify-full'); // webSocketUrl 'wss://abc.dsql.us-east-1.on.aws:443'
 */
export function resolveTransport(
  o: { transport?: unknown; webSocketUrl?: unknown; webSocketConstructor?: unknown },
  host: string,
  sslmode: string,
): ResolvedTransport {
  const transport = o.transport ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'websocket') {
    throw new DsqlConfigError('transport', describeValue(transport), "'tcp' or 'websocket'");
  }
  if (o.webSocketConstructor !== undefined && typeof o.webSocketConstructor !== 'function') {
    throw new DsqlConfigError('webSocketConstructor', describeValue(o.webSocketConstructor), "a WebSocket constructor (the runtime's WebSocket, or the ws package's)");
  }
  let webSocketUrl: string | undefined;
  if (o.webSocketUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = typeof o.webSocketUrl === 'string' ? new URL(o.webSocketUrl) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || url.protocol !== 'wss:' || url.username || url.password) {
      throw new DsqlConfigError('webSocketUrl', describeValue(o.webSocketUrl), 'a wss:// URL such as "wss://<endpoint>:443" (TLS is required, credentials never go in it)');
    }
    webSocketUrl = url.href.replace(/\/$/, '');
  }
  if (transport === 'tcp') return { transport, webSocketUrl: undefined, webSocketConstructor: undefined };
  if (sslmode === 'disable') {
    throw new DsqlConfigError('transport', '"websocket" with sslmode "disable"', "'tcp': over WebSocket TLS is always on (wss://)");
  }
  const host6 = host.includes(':') ? `[${host}]` : host;
  return {
    transport,
    webSocketUrl: webSocketUrl ?? `wss://${host6}:443`,
    webSocketConstructor: o.webSocketConstructor as WebSocketConstructorLike | undefined,
  };
}
