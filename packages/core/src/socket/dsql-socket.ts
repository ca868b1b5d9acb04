import { Duplex } from 'node:stream';
import { CANCEL_REQUEST_CODE, PROTOCOL_3, TERMINATE, initialMessageCode } from './wire.js';
import { SessionActivity } from '../connect/session-activity.js';
import type { ConnectionProbe } from '../diagnostics/connect-probe.js';
import type { DsqlSession } from '../session/session.js';
import type { StatementWatch } from '../failover/silent-statements.js';
import type { Greeting } from './handshake.js';

/** An authenticated session: the socket and what the server said while it was opened. */
export interface Session {
  socket: Duplex;
  greeting: Greeting;
  /** Core's probe of this connection (its counters, and diagnostics when someone subscribes): the socket reports its close. */
  connection?: ConnectionProbe;
  /** How core names the close (the session's `closeReason`), given with `connection`. */
  closeReason?: DsqlSession['closeReason'];
  /** The pool's connection counts (`DsqlSockets.gauge`), kept by the socket, given with `connection`. */
  gauge?: ConnectionGauge;
  /**
   * Given when this session may be retired after failback (`endpointProbe.drainAfterFailbackMs`,
   * on a non-preferred endpoint): registers `retire`, called when the session should close at its
   * next idle point; returns a function that unregisters it.
   */
  onRetire?: (retire: () => void) => () => void;
  /**
   * Given when failover follows this session's requests (several endpoints, `endpointProbe.suspectAfterMs`):
   * one left unanswered has its endpoint checked at once. Fed by the session's traffic (session-activity.ts).
   */
  statements?: StatementWatch;
}

/**
 * Open connections of one pool, and those in use: a statement written and its answer not yet
 * complete, or a transaction open (ReadyForQuery status other than idle). Postgres.js 3 exposes
 * no pool counters, so the sockets count.
 */
export interface ConnectionGauge {
  open: number;
  used: number;
}

/** ReadyForQuery (`Z`, length 5, status): the server waits for the next statement. */
function endsWithReadyForQuery(chunk: Buffer): boolean {
  const n = chunk.length;
  return n >= 6 && chunk[n - 6] === 0x5a && chunk.readInt32BE(n - 5) === 5;
}

/** How a {@link DsqlSocket} gets its real connection. */
export interface SessionOpener {
  /**
   * Opens and authenticates a session for this StartupMessage, retrying transient refusals
   * as it sees fit; rejects with the error to show the application.
   */
  session(startup: Buffer, signal: AbortSignal): Promise<Session>;
  /**
   * Opens a bare TLS connection for this CancelRequest (which carries no credentials), to the
   * endpoint of the session it names.
   */
  raw(cancelRequest: Buffer, signal: AbortSignal): Promise<Duplex>;
}

/**
 * The socket a driver talks to (Postgres.js: its `socket` option; made by `DsqlSockets.open`). It
 * looks like a plain, already connected socket; the first bytes the driver writes decide what it
 * becomes:
 *
 * - a StartupMessage: a DSQL session is opened underneath (rate limited, TLS verify-full with
 *   SNI, IAM token, transient refusals retried with backoff), then the server's greeting is
 *   replayed to the driver as if it had run the exchange itself. Retries therefore happen
 *   before the driver sees a byte, and no query ever fails because one attempt was refused.
 * - a CancelRequest: forwarded as is on a fresh TLS connection.
 *
 * From then on it is a pass-through. `host` and `port` are read by the driver for its error
 * messages.
 */
export class DsqlSocket extends Duplex {
  readonly host: string;
  readonly port: number;
  #inner: Duplex | undefined;
  #starting: Promise<void> | undefined;
  readonly #abort = new AbortController();
  readonly #opener: SessionOpener;
  readonly #live: Set<string> | undefined;
  #backendKey: string | undefined;
  #unrefd = false;
  /** `end()` was called (Postgres.js closing an idle or retired connection, or `sql.end()`), or the session was retired after failback. */
  #endRequested = false;
  /** With `Session.onRetire`: the session's traffic, to tell when it is idle. */
  #activity: SessionActivity | undefined;
  /**
   * With `Session.connection` (core counts every close, subscribers or not): the session's state
   * for its close reason and the pool's gauge, kept in plain fields by the one write wrapper and
   * the one 'data' listener (no closure, array or second listener per message: this runs per
   * statement).
   */
  #watching = false;
  #gauge: ConnectionGauge | undefined;
  /** Answered: the last response ended with ReadyForQuery and nothing was written since. */
  #idle = true;
  /** In use for the pool (`gauge.used`): from a write until ReadyForQuery says idle (not in a transaction). */
  #used = false;
  #lastUsed = 0;
  /** Retired after failback: closes at its next idle point. */
  #retiring = false;
  #retireCheck: NodeJS.Immediate | undefined;
  #offRetire: (() => void) | undefined;

  /**
   * @param live the backend keys (`"<pid>:<secret>"`) of the sessions that are open right now:
   *   this socket adds its session's key once authenticated and removes it when it closes.
   */
  constructor(opener: SessionOpener, where: { host: string; port: number }, live?: Set<string>) {
    super({ allowHalfOpen: false });
    this.#opener = opener;
    this.host = where.host;
    this.port = where.port;
    this.#live = live;
  }

  /** Mirrors `net.Socket#readyState` closely enough for Postgres.js (`'open'` / `'closed'`). */
  get readyState(): 'opening' | 'open' | 'closed' {
    if (this.destroyed) return 'closed';
    return this.#inner ? 'open' : 'opening';
  }

  /**
   * Accepted and ignored: the dialer already enabled TCP keep-alive on the socket underneath
   * from Postgres.js's `keep_alive` option.
   */
  setKeepAlive(): this {
    return this;
  }

  /**
   * Like `net.Socket#unref`: the connection underneath no longer keeps the process alive.
   * Postgres.js 4 calls it on idle connections with its `unref_sockets` option (and `ref()` when
   * a connection is used again).
   */
  unref(): this {
    this.#unrefd = true;
    (this.#inner as { unref?: () => unknown } | undefined)?.unref?.();
    return this;
  }

  /** Like `net.Socket#ref`: see {@link DsqlSocket.unref}. */
  ref(): this {
    this.#unrefd = false;
    (this.#inner as { ref?: () => unknown } | undefined)?.ref?.();
    return this;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#inner) {
      this.#activity?.sent(chunk);
      this.#inner.write(chunk, callback);
      return;
    }
    if (this.#starting) {
      // Postgres.js waits for ReadyForQuery before writing again; be safe anyway.
      this.#starting.then(() => this._write(chunk, _encoding, callback), callback);
      return;
    }
    this.#starting = this.#start(chunk);
    this.#starting.then(() => callback(), (err: Error) => callback(err));
  }

  async #start(first: Buffer): Promise<void> {
    const code = initialMessageCode(first);
    const signal = this.#abort.signal;
    if (code === PROTOCOL_3) {
      const length = first.readInt32BE(0);
      const { socket, greeting, connection, closeReason, gauge, onRetire, statements } = await this.#opener.session(first.subarray(0, length), signal);
      this.#attach(socket);
      if (connection && closeReason) this.#watchClose(socket, connection, closeReason, gauge);
      // Closed by Postgres.js meanwhile (its connect timeout): it must not hear from this session.
      if (this.destroyed) return void statements?.close();
      if (onRetire || statements) this.#followActivity(onRetire, statements);
      if (this.#watching || this.#activity) this.#trackWrites(socket);
      if (greeting.backendKey !== undefined && this.#live) {
        this.#backendKey = greeting.backendKey;
        this.#live.add(greeting.backendKey);
      }
      this.emit('data', greeting.replay);
      const rest = first.subarray(length);
      if (rest.length > 0) {
        this.#activity?.sent(rest);
        socket.write(rest);
      }
      socket.resume();
    } else if (code === CANCEL_REQUEST_CODE) {
      const socket = await this.#opener.raw(first, signal);
      this.#attach(socket);
      if (this.destroyed) return;
      socket.write(first);
      socket.resume();
    } else {
      throw Object.assign(new Error(`Unexpected first message from the driver (code ${String(code)})`), {
        code: 'EPROTO',
      });
    }
  }

  #attach(socket: Duplex): void {
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    this.#inner = socket;
    if (this.#unrefd) (socket as { unref?: () => unknown }).unref?.();
    // Fast path for the session's lifetime. Postgres.js writes whole protocol messages, watches
    // write()'s return value and 'drain' for backpressure, reads 'data' events and uses
    // pause()/resume() (COPY streams): all of that can go straight to the socket underneath
    // instead of through this stream's own buffers, which is measurably cheaper at high query
    // rates (see bench/postgres-js.mjs). `end()` and `destroy()` keep the stream semantics.
    const self = this as unknown as Record<'write' | 'pause' | 'resume', unknown>;
    self.write = (chunk: Buffer, encoding?: unknown, cb?: unknown): boolean =>
      (socket.write as (...args: unknown[]) => boolean)(chunk, encoding, cb);
    self.pause = (): this => (socket.pause(), this);
    self.resume = (): this => (socket.resume(), this);
    socket.on('drain', () => this.emit('drain'));
    socket.on('data', (chunk: Buffer) => {
      this.emit('data', chunk);
      // After Postgres.js has the bytes (it writes its next statement on a later tick).
      if (this.#watching) this.#watchReceived(chunk);
      if (this.#activity) {
        this.#activity.received(chunk);
        if (this.#retiring) this.#retireWhenIdle();
      }
    });
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  /**
   * Reports the session's close to core (its counters, and its diagnostics when someone
   * subscribes): closed without `end()` means the server or the network closed it — idle when the
   * server's last response ended with ReadyForQuery and nothing was written since. Also keeps the
   * pool's gauge. The traffic is noted by {@link DsqlSocket.#trackWrites} and the 'data' listener
   * of {@link DsqlSocket.#attach}: a few field updates per statement.
   */
  #watchClose(socket: Duplex, connection: ConnectionProbe, closeReason: DsqlSession['closeReason'], gauge: ConnectionGauge | undefined): void {
    const openedAt = performance.now();
    this.#watching = true;
    this.#gauge = gauge;
    this.#lastUsed = openedAt;
    if (gauge) gauge.open++;
    socket.once('close', () => {
      if (gauge) {
        gauge.open--;
        if (this.#used) gauge.used--;
      }
      const now = performance.now();
      const lost = !this.#endRequested;
      connection.closed(closeReason({ lost, idle: !lost || this.#idle, ageMs: now - openedAt, idleMs: now - this.#lastUsed }));
    });
  }

  /**
   * Idle from the ReadyForQuery that ends a response until the next write: a message the server
   * sends on its own meanwhile (a FATAL before it closes, a notice) leaves the session idle.
   */
  #watchReceived(chunk: Buffer): void {
    if (this.#idle || !endsWithReadyForQuery(chunk)) return;
    this.#idle = true;
    // Status byte 'I': no transaction open, the connection is free again.
    const gauge = this.#gauge;
    if (this.#used && gauge && chunk[chunk.length - 1] === 0x49) {
      this.#used = false;
      gauge.used--;
    }
  }

  /** Replaces the fast path's `write` (see {@link DsqlSocket.#attach}) with one that notes the traffic first. */
  #trackWrites(socket: Duplex): void {
    const self = this as unknown as { write: (chunk: Buffer | string, encoding?: unknown, cb?: unknown) => boolean };
    self.write = (chunk, encoding, cb) => {
      this.#activity?.sent(chunk);
      if (this.#watching) {
        this.#idle = false;
        this.#lastUsed = performance.now();
        const gauge = this.#gauge;
        if (!this.#used && gauge) {
          this.#used = true;
          gauge.used++;
        }
      }
      return (socket.write as (...args: unknown[]) => boolean)(chunk, encoding, cb);
    };
  }

  /**
   * Follows the session's traffic (see session-activity.ts) and registers it for retirement after
   * failback. Postgres.js exposes no public per-connection state, nor a hook to close one
   * connection between uses, so this socket closes the session itself at its next idle point:
   * every request answered, outside a transaction, nothing written since. The check runs one
   * macrotask after the traffic that made it idle (setImmediate): Postgres.js writes on
   * process.nextTick, and whoever a ReadyForQuery handed the connection to (a queued query,
   * `sql.begin`, a Kysely reservation) writes in the microtasks that follow, so such a connection
   * is not idle by then. What this cannot see: a connection held with `sql.reserve()`, idle
   * outside a transaction while its holder awaits something else; its next statement fails with
   * a connection error (and Postgres.js reconnects for the ones after).
   */
  #followActivity(onRetire: ((retire: () => void) => () => void) | undefined, statements: StatementWatch | undefined): void {
    // The same reading of the wire tells failover which requests await an answer (suspectAfterMs).
    const activity = (this.#activity = new SessionActivity(statements));
    if (statements) this.once('close', () => activity.closed());
    if (!onRetire) return;
    this.#offRetire = onRetire(() => {
      this.#retiring = true;
      this.#retireWhenIdle();
    });
  }

  /** Closes the session one macrotask from now if it is idle then (else it is checked again after its next answer). */
  #retireWhenIdle(): void {
    if (this.#retireCheck !== undefined || this.destroyed) return;
    this.#retireCheck = setImmediate(() => {
      this.#retireCheck = undefined;
      if (this.destroyed || !this.#activity?.idle) return;
      // Planned: reported as closed by the client, not as a lost connection.
      this.#endRequested = true;
      const inner = this.#inner;
      this.#inner = undefined;
      if (inner) {
        // Terminate, then FIN: the server ends the session at once. The socket is destroyed a
        // moment later whatever the peer does.
        inner.end(TERMINATE);
        setTimeout(() => inner.destroy(), 1_000).unref();
      }
      // Postgres.js hears 'close' (without an error) before any caller's next statement: it opens
      // a new connection, to the preferred endpoint, when it needs one.
      this.destroy();
    });
  }

  override end(...args: unknown[]): this {
    this.#endRequested = true;
    return (super.end as (...a: unknown[]) => this)(...args);
  }

  override _read(): void {
    // Data is delivered by the fast path in #attach.
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#inner) this.#inner.end(callback);
    else callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Synchronously, before Postgres.js hears of the close: the pool reads `live` (@dsql/postgres's postgres-js-3-closed-connection-patch.ts).
    if (this.#backendKey !== undefined) this.#live?.delete(this.#backendKey);
    this.#offRetire?.();
    if (this.#retireCheck !== undefined) clearImmediate(this.#retireCheck);
    this.#abort.abort(error ?? new Error('socket destroyed'));
    this.#inner?.destroy();
    callback(error);
  }
}
