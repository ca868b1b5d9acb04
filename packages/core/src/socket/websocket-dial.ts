/**
 * PostgreSQL over WebSocket (`transport: 'websocket'`): a WebSocket to `webSocketUrl` carrying
 * the protocol's bytes in binary frames, TLS from the WebSocket layer (no SSLRequest), wrapped
 * in a Duplex so the same IAM handshake and the same DsqlSocket run over it as over TCP.
 *
 * Written against the standard WebSocket API (browser, runtimes' global, the `ws` package), so
 * no WebSocket library is imported here; the `ws` package's extras are used only when present
 * (TLS options, TCP keep-alive, ping).
 *
 * A dead WebSocket (the peer gone without a close frame) is found without a query round trip:
 * while the client waits for an answer and nothing has arrived for `suspectAfterMs`, a ping is
 * sent (the `ws` package's `ping`, answered by any RFC 6455 server even while a long query runs);
 * no pong nor data within `pongTimeoutMs` and the connection is destroyed (ECONNRESET), so
 * Postgres.js replaces it. An idle connection costs nothing: TCP keep-alive on the socket under
 * it (from `keep_alive`) and the connection's lifetime bound it. Where the constructor has no
 * ping (browsers), the browser's own TCP stack and the lifetime are what detect it.
 */
import { Duplex } from 'node:stream';
import type { WebSocketConstructorLike, WebSocketLike } from '../config/transport.js';

/** Where and how to open the WebSocket. */
export interface WebSocketTarget {
  url: string;
  /** The constructor; undefined: the runtime's global `WebSocket`. */
  WebSocket: WebSocketConstructorLike | undefined;
  /** Node TLS options for the `ws` package (`ca`, `servername`, verification); ignored by other constructors. */
  tls: object | false;
  /** An address to dial instead of resolving the URL's host (`hostaddr`; `ws` package only). */
  address?: string | undefined;
  /** TCP keep-alive in seconds (`ws` package only). */
  keepAliveSeconds?: number | undefined;
  /** Waiting for an answer with nothing received this long makes the connection suspect (default 15,000). */
  suspectAfterMs?: number;
  /** A suspect connection that answers neither ping nor query within this long is dead (default 10,000). */
  pongTimeoutMs?: number;
}

/** The `ws` package's extras (EventEmitter API), used when present. */
interface WsExtras {
  ping?: (data?: unknown, mask?: boolean, cb?: (err?: Error) => void) => void;
  terminate?: () => void;
  on?: (event: string, listener: (...args: never[]) => void) => void;
}

const OPEN = 1;

/**
 * Opens the WebSocket and resolves with a Duplex over it once it is open; rejects (and closes
 * it) if it fails first or `signal` aborts.
 *
 * @example
 * const socket = await dialWebSocket({ url: config.webSocketUrl!, WebSocket: config.webSocketConstructor, tls: endpoint.tls }, signal);
 */
export function dialWebSocket(target: WebSocketTarget, signal?: AbortSignal): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const Ctor = target.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
    if (typeof Ctor !== 'function') {
      return reject(
        Object.assign(new Error("transport 'websocket': this runtime has no global WebSocket; pass webSocketConstructor (on Node 20: the ws package's WebSocket)"), {
          code: 'ENOWEBSOCKET',
        }),
      );
    }
    const options: Record<string, unknown> = target.tls === false ? {} : { ...target.tls };
    if (target.address) {
      const address = target.address;
      // `hostaddr`: dial this address while the URL (SNI, Host, certificate check) keeps the name.
      options.lookup = (_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
        opts.all ? cb(null, [{ address, family: address.includes(':') ? 6 : 4 }]) : cb(null, address, address.includes(':') ? 6 : 4);
    }
    let ws: WebSocketLike & WsExtras;
    try {
      // The third argument is the `ws` package's options; the standard constructors ignore it.
      ws = new Ctor(target.url, [], options) as WebSocketLike & WsExtras;
    } catch (err) {
      return reject(err);
    }
    ws.binaryType = 'arraybuffer';
    const onAbort = (): void => fail(signal?.reason);
    const cleanup = (): void => {
      signal?.removeEventListener('abort', onAbort);
      ws.removeEventListener('open', onOpen);
      ws.removeEventListener('error', onError);
      ws.removeEventListener('close', onEarlyClose);
    };
    const fail = (err: unknown): void => {
      cleanup();
      closeQuietly(ws);
      reject(err);
    };
    // The underlying error when the runtime gives one (`ws`: a TLS certificate error keeps its code, so it is not
    // retried); tested by shape, not instanceof, since it may come from another realm (a VM context, a test runner).
    const onError = (event: { error?: unknown; message?: string }): void =>
      fail(isErrorLike(event?.error) ? event.error : Object.assign(new Error(`WebSocket to ${target.url} failed${event?.message ? `: ${event.message}` : ''}`), { code: 'ECONNREFUSED' }));
    const onEarlyClose = (event: { code?: number }): void =>
      fail(Object.assign(new Error(`WebSocket to ${target.url} closed before it opened (code ${event?.code ?? 'none'})`), { code: 'ECONNRESET' }));
    const onOpen = (): void => {
      cleanup();
      resolve(new WebSocketDuplex(ws, target));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.addEventListener('open', onOpen);
    ws.addEventListener('error', onError as never);
    ws.addEventListener('close', onEarlyClose as never);
    if (target.keepAliveSeconds && typeof ws.on === 'function') {
      // `ws` package: its 'upgrade' event gives the HTTP response, whose socket is the TCP connection.
      const ms = target.keepAliveSeconds * 1000;
      ws.on('upgrade', ((res: { socket?: { setKeepAlive?: (on: boolean, ms: number) => void } }) => res.socket?.setKeepAlive?.(true, ms)) as never);
    }
  });
}

function isErrorLike(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

function closeQuietly(ws: WebSocketLike & WsExtras): void {
  try {
    if (typeof ws.terminate === 'function') ws.terminate();
    else ws.close();
  } catch {
    // Closing a WebSocket that never opened may throw in some runtimes: it is gone either way.
  }
}

/** A Duplex over an open WebSocket: written bytes go out as binary frames; frames come in as bytes. */
class WebSocketDuplex extends Duplex {
  readonly #ws: WebSocketLike & WsExtras;
  readonly #suspectAfterMs: number;
  readonly #pongTimeoutMs: number;
  /** When the last bytes arrived. */
  #lastReceived = Date.now();
  /**
   * Bytes were written since anything last arrived: the client waits for an answer. A flag set
   * by the order of events, not timestamps (a write and an answer within one millisecond must
   * not read as answered).
   */
  #awaiting = false;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #pingSentAt = 0;

  constructor(ws: WebSocketLike & WsExtras, target: WebSocketTarget) {
    super({ allowHalfOpen: false });
    this.#ws = ws;
    this.#suspectAfterMs = target.suspectAfterMs ?? 15_000;
    this.#pongTimeoutMs = target.pongTimeoutMs ?? 10_000;
    ws.addEventListener('message', ((event: { data: ArrayBuffer | Uint8Array | string }) => {
      this.#lastReceived = Date.now();
      this.#awaiting = false;
      this.#pingSentAt = 0;
      const { data } = event;
      const chunk = typeof data === 'string' ? Buffer.from(data) : data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      this.push(chunk);
    }) as never);
    ws.addEventListener('close', (() => {
      this.push(null);
      this.destroy();
    }) as never);
    ws.addEventListener('error', ((event: { error?: unknown }) => {
      this.destroy(event?.error instanceof Error ? event.error : Object.assign(new Error('WebSocket error'), { code: 'ECONNRESET' }));
    }) as never);
    if (typeof ws.ping === 'function' && typeof ws.on === 'function') {
      ws.on('pong', (() => {
        this.#lastReceived = Date.now();
        this.#pingSentAt = 0;
      }) as never);
    }
  }

  /** Like `net.Socket#setKeepAlive`: the dialer already set it. */
  setKeepAlive(): this {
    return this;
  }

  /** Like `net.Socket#setNoDelay`: WebSocket frames are sent as written. */
  setNoDelay(): this {
    return this;
  }

  override _read(): void {
    // Frames are pushed as they arrive: the standard WebSocket API has no way to pause them.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#ws.readyState !== OPEN) {
      callback(Object.assign(new Error('WebSocket is closed'), { code: 'EPIPE' }));
      return;
    }
    try {
      this.#ws.send(chunk);
    } catch (err) {
      callback(err as Error);
      return;
    }
    if (!this.#awaiting) {
      // Silence is measured from when the answer became due, not from the last answer before it.
      this.#awaiting = true;
      this.#lastReceived = Date.now();
    }
    this.#arm();
    callback();
  }

  /** Watches for an answer to what was just written (see the module comment); costs nothing while idle. */
  #arm(): void {
    if (this.#watchdog || typeof this.#ws.ping !== 'function') return;
    this.#watchdog = setTimeout(() => this.#check(), this.#suspectAfterMs);
    this.#watchdog.unref?.();
  }

  #check(): void {
    this.#watchdog = undefined;
    if (this.destroyed) return;
    const now = Date.now();
    // Nothing awaited: everything written has been followed by data. Sleep until the next write.
    if (!this.#awaiting && this.#pingSentAt === 0) return;
    if (this.#pingSentAt !== 0 && now - this.#pingSentAt >= this.#pongTimeoutMs) {
      this.destroy(Object.assign(new Error(`WebSocket peer did not answer a ping within ${this.#pongTimeoutMs} ms: connection presumed dead`), { code: 'ECONNRESET' }));
      return;
    }
    const silentFor = now - Math.max(this.#lastReceived, this.#pingSentAt);
    if (this.#pingSentAt === 0 && silentFor >= this.#suspectAfterMs) {
      this.#pingSentAt = now;
      try {
        this.#ws.ping!();
      } catch {
        // A failing ping is answered by the pong timeout.
      }
    }
    const wait = this.#pingSentAt !== 0 ? this.#pongTimeoutMs - (now - this.#pingSentAt) : this.#suspectAfterMs - silentFor;
    this.#watchdog = setTimeout(() => this.#check(), Math.max(1, wait));
    this.#watchdog.unref?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#ws.close(1000);
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
    if (this.#ws.readyState <= OPEN) closeQuietly(this.#ws);
    callback(err);
  }
}
