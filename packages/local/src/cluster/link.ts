/**
 * The network in front of one Regional endpoint of a local multi-Region cluster: a TCP relay on
 * the endpoint's public port that forwards bytes, unread, to the endpoint's own listener, and
 * can make the path slow (`latencyMs`), reset every connection (`drop`) or stop carrying
 * anything (`blackhole`). These are conditions of the network, not of the server, so they are
 * applied below TLS, where a client's kernel and TLS stack see them as on a real network.
 * (`refuse` is the server's answer, so the endpoint gives it: see ../admission/admit.ts.)
 *
 * Hand-written rather than a toxiproxy-like dependency: those run as a separate process and
 * a Go binary, and these three conditions need ~150 lines over `node:net`.
 */
import net from 'node:net';

/** What the network does to the connections of one endpoint. */
export type LinkCondition = 'pass' | 'drop' | 'blackhole';

/** One client connection relayed to the endpoint. */
interface Relay {
  client: net.Socket;
  server: net.Socket | undefined;
  /** Client → server chunks waiting for their delay to pass (or for a blackhole to heal). */
  queue: { chunk: Buffer; due: number }[];
  timer: NodeJS.Timeout | undefined;
  /** Server → client chunks read while the link was blackholed. */
  held: Buffer[];
  /** The server closed while the link was blackholed: the client learns it once it heals. */
  serverGone: boolean;
}

/** Counters of a link. */
export interface LinkStats {
  /** Connections reset by `drop` (open ones and new ones). */
  reset: number;
  /** Connections currently held by `blackhole` without an answer. */
  held: number;
  /** Connections relayed right now. */
  open: number;
}

/**
 * A TCP relay with network conditions, in front of `127.0.0.1:<targetPort>`.
 *
 * @example
 * const link = await NetworkLink.listen(innerPort);
 * link.latencyMs = 50;
 * link.setCondition('blackhole');
 * link.setCondition('pass');
 * await link.close();
 */
export class NetworkLink {
  /** Delay added to every client → server chunk, so to every round trip. */
  latencyMs = 0;
  private condition: LinkCondition = 'pass';
  private readonly relays = new Set<Relay>();
  private resets = 0;
  private closing = false;

  private constructor(
    private readonly server: net.Server,
    private readonly targetPort: number,
  ) {}

  /** Starts a relay on `127.0.0.1:port` (0: any free port) to `127.0.0.1:targetPort`. */
  static async listen(targetPort: number, port = 0): Promise<NetworkLink> {
    const server = net.createServer({ pauseOnConnect: true });
    const link = new NetworkLink(server, targetPort);
    server.on('connection', (socket) => link.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    return link;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  stats(): LinkStats {
    let held = 0;
    if (this.condition === 'blackhole') for (const r of this.relays) if (!r.client.destroyed) held++;
    return { reset: this.resets, held, open: this.relays.size };
  }

  /**
   * `drop`: resets every open connection (TCP RST) and each new one as it arrives;
   * `blackhole`: carries nothing either way (connections are accepted and held, answers kept
   * back) until the condition changes; `pass`: relays again, what was held first.
   */
  setCondition(condition: LinkCondition): void {
    this.condition = condition;
    for (const r of [...this.relays]) {
      if (condition === 'drop') this.reset(r);
      else if (condition === 'pass') this.resume(r);
      else this.hold(r);
    }
  }

  /** Stops listening and ends every relayed connection. Idempotent. */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const r of [...this.relays]) this.end(r);
    await closed;
  }

  private accept(client: net.Socket): void {
    client.on('error', () => {});
    if (this.closing) {
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    const r: Relay = { client, server: undefined, queue: [], timer: undefined, held: [], serverGone: false };
    this.relays.add(r);
    client.on('close', () => this.end(r));
    client.on('data', (chunk: Buffer) => this.toServer(r, chunk));
    if (this.condition === 'drop') return this.reset(r);
    // Blackholed: the connection is accepted (the kernel did that already) and held unread.
    if (this.condition === 'pass') this.resume(r);
  }

  /** Opens the server side (once) and lets data flow both ways. */
  private resume(r: Relay): void {
    if (r.client.destroyed) return;
    if (!r.server) {
      const server = net.connect(this.targetPort, '127.0.0.1');
      r.server = server;
      server.setNoDelay(true);
      server.on('error', () => {});
      server.on('close', () => this.serverClosed(r));
      server.on('data', (chunk: Buffer) => {
        if (this.condition === 'blackhole') {
          r.held.push(chunk);
          server.pause();
        } else if (!r.client.write(chunk)) server.pause();
      });
      r.client.on('drain', () => {
        if (this.condition !== 'blackhole') server.resume();
      });
      server.on('drain', () => {
        if (this.condition !== 'blackhole' && r.queue.length === 0) r.client.resume();
      });
    }
    for (const chunk of r.held.splice(0)) r.client.write(chunk);
    if (r.serverGone) return this.serverClosed(r);
    r.server.resume();
    r.client.resume();
    this.pump(r);
  }

  /** Stops reading both sides; what is under way stays where it is. */
  private hold(r: Relay): void {
    r.client.pause();
    r.server?.pause();
    clearTimeout(r.timer);
    r.timer = undefined;
  }

  private reset(r: Relay): void {
    if (!r.client.destroyed) {
      this.resets++;
      r.client.resetAndDestroy();
    }
    this.end(r);
  }

  /**
   * The endpoint closed the connection (a FATAL answer, stop()): the client gets what was sent,
   * then the close. Blackholed, it gets neither until the link heals.
   */
  private serverClosed(r: Relay): void {
    if (!this.relays.has(r)) return;
    if (this.condition === 'blackhole') {
      r.serverGone = true;
      return;
    }
    this.relays.delete(r);
    clearTimeout(r.timer);
    r.client.end();
    setTimeout(() => r.client.destroy(), 1000).unref();
  }

  private end(r: Relay): void {
    if (!this.relays.delete(r)) return;
    clearTimeout(r.timer);
    r.queue.length = 0;
    r.held.length = 0;
    if (!r.client.destroyed) r.client.destroy();
    r.server?.destroy();
  }

  private toServer(r: Relay, chunk: Buffer): void {
    // In order: a chunk is never due before the one ahead of it, whatever the latency became.
    const last = r.queue.at(-1);
    r.queue.push({ chunk, due: Math.max(performance.now() + this.latencyMs, last?.due ?? 0) });
    // Keep at most a few chunks in memory: the client waits (TCP backpressure) meanwhile.
    if (r.queue.length >= 16) r.client.pause();
    this.pump(r);
  }

  /** Writes the chunks whose delay has passed; schedules itself for the next one. */
  private pump(r: Relay): void {
    if (this.condition !== 'pass' || !r.server || r.timer) return;
    const now = performance.now();
    while (r.queue.length > 0 && r.queue[0]!.due <= now) {
      if (!r.server.write(r.queue.shift()!.chunk)) r.client.pause();
    }
    if (r.queue.length > 0) {
      r.timer = setTimeout(() => {
        r.timer = undefined;
        this.pump(r);
      }, Math.max(1, r.queue[0]!.due - now));
    } else if (!r.server.writableNeedDrain && !r.client.destroyed) r.client.resume();
  }
}
