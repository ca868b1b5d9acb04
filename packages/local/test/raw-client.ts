/**
 * A hand-driven PostgreSQL client for tests that must send what no driver sends: oversized or
 * malformed messages, silence, floods. Messages are built with `pg-protocol`'s serializer where
 * it has one; answers are framed by type byte and length only.
 */
import net from 'node:net';
import tls from 'node:tls';
import { serialize } from 'pg-protocol';
import pg from 'pg';
import type { DsqlLocal } from '../src/index.js';
import { pgConfig, token } from './helpers.js';

/** One backend message as received. */
export interface BackendMessage {
  type: string;
  body: Buffer;
}

/** A TLS connection to the emulator with a queue of backend messages. */
export class RawClient {
  readonly messages: BackendMessage[] = [];
  closed = false;
  /** Bytes written so far (counted by write callbacks: what the kernel accepted). */
  written = 0;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  constructor(readonly socket: tls.TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (this.buf.length < 1 + len) break;
        this.messages.push({ type: String.fromCharCode(this.buf[0]!), body: this.buf.subarray(5, 1 + len) });
        this.buf = this.buf.subarray(1 + len);
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `pred` holds (checked on every message and on close), at most `timeoutMs`. */
  async until(pred: () => boolean, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** The first message of `type`, once it arrived (or undefined after the timeout / close). */
  async next(type: string, timeoutMs = 5000): Promise<BackendMessage | undefined> {
    await this.until(() => this.closed || this.messages.some((m) => m.type === type), timeoutMs);
    return this.messages.find((m) => m.type === type);
  }

  /** The fields of the first ErrorResponse (code → value), once it arrived. */
  async error(timeoutMs = 5000): Promise<Record<string, string> | undefined> {
    const m = await this.next('E', timeoutMs);
    if (!m) return undefined;
    const out: Record<string, string> = {};
    let off = 0;
    while (off < m.body.length && m.body[off] !== 0) {
      const end = m.body.indexOf(0, off + 1);
      out[String.fromCharCode(m.body[off]!)] = m.body.toString('utf8', off + 1, end);
      off = end + 1;
    }
    return out;
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || this.socket.destroyed) return resolve();
      this.socket.write(data, (err) => {
        if (!err) this.written += data.length;
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A plain TCP socket to the emulator, connected. */
export function tcp(dsql: DsqlLocal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(dsql.port, dsql.hostaddr, () => resolve(s));
    s.once('error', reject);
  });
}

/** SSLRequest, then TLS with SNI = the cluster host; resolves once the TLS session is up. */
export async function tlsClient(dsql: DsqlLocal, o: { servername?: string } = {}): Promise<RawClient> {
  const raw = await tcp(dsql);
  raw.on('error', () => {});
  const ssl = Buffer.alloc(8);
  ssl.writeInt32BE(8, 0);
  ssl.writeInt32BE(80877103, 4);
  raw.write(ssl);
  await new Promise<void>((resolve, reject) => {
    raw.once('data', (b: Buffer) => (b.toString() === 'S' ? resolve() : reject(new Error(`SSLRequest answered ${b.toString()}`))));
    raw.once('close', () => reject(new Error('closed before the SSLRequest answer')));
  });
  const socket = tls.connect({ socket: raw, ca: dsql.ca, servername: o.servername ?? dsql.host });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  return new RawClient(socket);
}

/** A TLS client that sent its startup and was asked for a password. */
export async function awaitingPassword(dsql: DsqlLocal, user = 'admin'): Promise<RawClient> {
  const c = await tlsClient(dsql);
  await c.write(serialize.startup({ user, database: 'postgres' }));
  const r = await c.next('R');
  if (!r || r.body.readInt32BE(0) !== 3) throw new Error('the emulator did not ask for a cleartext password');
  return c;
}

/** Authenticates a raw client with a fresh valid token; resolves once ReadyForQuery arrived. */
export async function authenticated(dsql: DsqlLocal): Promise<RawClient> {
  const c = await awaitingPassword(dsql);
  await c.write(serialize.password(await token(dsql)));
  if (!(await c.next('Z'))) throw new Error('no ReadyForQuery after the password');
  return c;
}

/**
 * What a client that arrives while something else is going on measures: connect with
 * node-postgres (fresh token), `SELECT 1`, end. Resolves with the milliseconds it took; rejects
 * with the client's error.
 */
export async function probe(dsql: DsqlLocal, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  const client = new pg.Client(pgConfig(dsql, await token(dsql), { connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs }));
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query('SELECT 1 AS one');
    if (rows[0]?.one !== 1) throw new Error('SELECT 1 did not answer 1');
  } finally {
    await client.end().catch(() => {});
  }
  return performance.now() - started;
}

/** Milliseconds the event loop lagged behind a 10 ms interval at worst, while `fn` runs. */
export async function worstLoopLag<T>(fn: () => Promise<T>): Promise<{ result: T; lagMs: number }> {
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  try {
    return { result: await fn(), lagMs: worst };
  } finally {
    clearInterval(timer);
  }
}

/** A typed frontend message with an arbitrary body (what pg-protocol will not build). */
export function frame(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}
