/**
 * A driver's socket over a standard WebSocket (browsers, and runtimes with a global `WebSocket`),
 * for `@dsql/core/browser` (Postgres.js's `socket` option in `@dsql/postgres/browser`): the
 * protocol's bytes in binary frames, TLS from the WebSocket layer (`wss://`, no SSLRequest), as
 * DSQL serves it at `wss://<endpoint>:443`.
 *
 * What a driver wants from a `socket` is the small part of a Node socket it calls (`on`/`off`
 * of 'data', 'drain', 'error', 'close'; `write`, `end`, `destroy`, `pause`, `resume`) — the same
 * contract Postgres.js's own Cloudflare Workers build meets (postgres/src/cf.js). The Node entry
 * wraps the WebSocket in a `node:stream` Duplex instead (websocket-dial.ts); a page has no
 * `node:stream`, and this needs only the four events, so they are kept in a Map here rather than
 * pulling in an EventEmitter polyfill.
 *
 * A dead peer (no close frame): browsers expose no WebSocket ping, so the browser's own TCP
 * stack and the connection's lifetime (`maxLifetimeSeconds`) bound it.
 */
import type { WebSocketConstructorLike, WebSocketLike } from '../config/transport.js';

type Listener = (...args: unknown[]) => void;

/** The part of a Node socket a driver (Postgres.js) calls. @internal */
export interface NodeLikeSocket {
  readonly secure: boolean;
  readonly negotiated: boolean;
  on(event: string, listener: Listener): NodeLikeSocket;
  once(event: string, listener: Listener): NodeLikeSocket;
  off(event: string, listener: Listener): NodeLikeSocket;
  removeListener(event: string, listener: Listener): NodeLikeSocket;
  write(data: Uint8Array): boolean;
  end(data?: Uint8Array): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  setKeepAlive(): void;
  setNoDelay(): void;
}

const OPEN = 1;

/**
 * Opens a WebSocket to `url` and resolves with it as a driver's socket once it is open;
 * rejects with an error carrying a Node-style `code` (`ECONNREFUSED`, `ECONNRESET`) if it fails
 * or closes first, so the driver and core classify it as a connection failure. Each frame
 * received is emitted as `chunk` makes it: a driver that parses Node `Buffer`s (Postgres.js) passes a
 * conversion to its `Buffer` (in a browser build, the bundled `buffer` package's; a page has none).
 *
 * @example
 * postgres({ ssl: false, socket: () => openWebSocketSocket('wss://abc.dsql.us-east-1.on.aws', WebSocket, (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)) });
 */
export function openWebSocketSocket(url: string, Ctor: WebSocketConstructorLike | undefined, chunk: (bytes: Uint8Array) => Uint8Array): Promise<NodeLikeSocket> {
  return new Promise((resolve, reject) => {
    const WebSocketCtor = Ctor ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
    if (typeof WebSocketCtor !== 'function') {
      reject(Object.assign(new Error("this runtime has no global WebSocket: pass webSocketConstructor"), { code: 'ENOWEBSOCKET' }));
      return;
    }
    let ws: WebSocketLike;
    try {
      ws = new WebSocketCtor(url);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    ws.binaryType = 'arraybuffer';
    const onOpen = (): void => {
      cleanup();
      resolve(new WebSocketSocket(ws, chunk));
    };
    // Browsers tell a script nothing about why a WebSocket failed (no TLS or DNS detail, by design).
    const onError = (): void => {
      cleanup();
      reject(Object.assign(new Error(`WebSocket to ${url} failed`), { code: 'ECONNREFUSED' }));
    };
    const onClose = (event: { code?: number }): void => {
      cleanup();
      reject(Object.assign(new Error(`WebSocket to ${url} closed before it opened (code ${event?.code ?? 'none'})`), { code: 'ECONNRESET' }));
    };
    const cleanup = (): void => {
      ws.removeEventListener('open', onOpen);
      ws.removeEventListener('error', onError);
      ws.removeEventListener('close', onClose as never);
    };
    ws.addEventListener('open', onOpen);
    ws.addEventListener('error', onError);
    ws.addEventListener('close', onClose as never);
  });
}

class WebSocketSocket implements NodeLikeSocket {
  readonly secure = true;
  /** TLS is the WebSocket's: the driver must not negotiate its own. */
  readonly negotiated = true;
  readonly #ws: WebSocketLike;
  readonly #listeners = new Map<string, Set<Listener>>();
  #paused: Uint8Array[] | undefined;
  #closed = false;
  readonly #chunk: (bytes: Uint8Array) => Uint8Array;

  constructor(ws: WebSocketLike, chunk: (bytes: Uint8Array) => Uint8Array) {
    this.#ws = ws;
    this.#chunk = chunk;
    ws.addEventListener('message', ((event: { data: ArrayBuffer }) => this.#receive(new Uint8Array(event.data))) as never);
    ws.addEventListener('error', (() => this.#fail()) as never);
    ws.addEventListener('close', (() => this.#close()) as never);
  }

  on(event: string, listener: Listener): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  once(event: string, listener: Listener): this {
    const wrapped: Listener = (...args) => {
      this.off(event, wrapped);
      listener(...args);
    };
    return this.on(event, wrapped);
  }

  off(event: string, listener: Listener): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  removeListener(event: string, listener: Listener): this {
    return this.off(event, listener);
  }

  write(data: Uint8Array): boolean {
    if (this.#closed || this.#ws.readyState !== OPEN) return false;
    this.#ws.send(data);
    return true;
  }

  end(data?: Uint8Array): void {
    if (data) this.write(data);
    this.destroy();
  }

  destroy(): void {
    try {
      this.#ws.close();
    } catch {
      // Closing a WebSocket that is already closing may throw in some runtimes: it is gone either way.
    }
    this.#close();
  }

  pause(): void {
    this.#paused ??= [];
  }

  resume(): void {
    const held = this.#paused;
    this.#paused = undefined;
    for (const bytes of held ?? []) this.#emit('data', this.#chunk(bytes));
  }

  setKeepAlive(): void {}

  setNoDelay(): void {}

  #receive(chunk: Uint8Array): void {
    if (this.#paused) this.#paused.push(chunk);
    else this.#emit('data', this.#chunk(chunk));
  }

  #fail(): void {
    if (this.#closed) return;
    this.#emit('error', Object.assign(new Error('WebSocket connection failed'), { code: 'ECONNRESET' }));
    this.destroy();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#emit('close');
    this.#listeners.clear();
  }

  #emit(event: string, ...args: unknown[]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) listener(...args);
  }
}
