/**
 * The browser entry's socket (a driver's socket over a standard WebSocket) against a real local
 * WebSocket server, with the `ws` package's WebSocket standing in for the browser's (the same
 * standard API: addEventListener, binaryType, send, close). In Chromium it runs in
 * @dsql/postgres's browser.integration.test.ts; here the Node run covers its stream contract.
 */
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import type { WebSocketConstructorLike } from '../src/config/transport.js';
import { openWebSocketSocket, type NodeLikeSocket } from '../src/socket/browser-socket.js';

const WAIT_MS = 10_000;
const Ctor = WebSocket as unknown as WebSocketConstructorLike;
const asBuffer = (b: Uint8Array): Uint8Array => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A ws:// server on 127.0.0.1 whose every connection is handed to `onConnection`. */
async function server(onConnection: (ws: ServerSocket) => void) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', onConnection);
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** What the driver hears from the socket. */
function listen(socket: NodeLikeSocket) {
  const heard = { data: [] as Uint8Array[], errors: [] as Error[], closes: 0 };
  socket.on('data', (chunk) => heard.data.push(chunk as Uint8Array));
  socket.on('error', (err) => heard.errors.push(err as Error));
  socket.on('close', () => heard.closes++);
  return heard;
}

describe('openWebSocketSocket', () => {
  it('sends writes as binary frames and emits each frame received, converted by `chunk`', async () => {
    const received: Buffer[] = [];
    const srv = await server((ws) => ws.on('message', (data: Buffer) => (received.push(data), ws.send(Buffer.concat([Buffer.from('re:'), data])))));
    const socket = await openWebSocketSocket(srv.url, Ctor, asBuffer);
    const heard = listen(socket);
    try {
      expect(socket).toMatchObject({ secure: true, negotiated: true });
      socket.setKeepAlive();
      socket.setNoDelay();
      expect(socket.write(new Uint8Array([1, 2, 3]))).toBe(true);
      await until(() => heard.data.length === 1, 'the answer frame');
      expect(Buffer.concat(received)).toEqual(Buffer.from([1, 2, 3]));
      expect(Buffer.isBuffer(heard.data[0])).toBe(true);
      expect(Buffer.from(heard.data[0]!).toString('latin1')).toBe('re:\x01\x02\x03');
    } finally {
      socket.destroy();
      await srv.close();
    }
  });

  it('holds frames while paused and delivers them in order on resume', async () => {
    let peer: ServerSocket | undefined;
    const srv = await server((ws) => (peer = ws));
    // The real ws WebSocket, counting the frames it delivers: tells when they have arrived underneath.
    let arrived = 0;
    class Counting extends WebSocket {
      constructor(url: string) {
        super(url);
        this.addEventListener('message', () => arrived++);
      }
    }
    const socket = await openWebSocketSocket(srv.url, Counting as unknown as WebSocketConstructorLike, asBuffer);
    const heard = listen(socket);
    try {
      await until(() => peer !== undefined, 'the server to see the connection');
      socket.pause();
      peer!.send(Buffer.from('a'));
      peer!.send(Buffer.from('b'));
      await until(() => arrived === 2, 'both frames to arrive while paused');
      expect(heard.data).toHaveLength(0);
      socket.resume();
      expect(heard.data.map((d) => Buffer.from(d).toString())).toEqual(['a', 'b']);
      peer!.send(Buffer.from('c'));
      await until(() => heard.data.length === 3, 'a frame after resume');
    } finally {
      socket.destroy();
      await srv.close();
    }
  });

  it('once/off listeners; end(data) sends the data then closes, once; writes after close are refused', async () => {
    const received: Buffer[] = [];
    let serverClosed = false;
    const srv = await server((ws) => {
      ws.on('message', (data: Buffer) => received.push(data));
      ws.on('close', () => (serverClosed = true));
    });
    const socket = await openWebSocketSocket(srv.url, Ctor, asBuffer);
    const heard = listen(socket);
    let onceCalls = 0;
    const removed = (): void => {
      throw new Error('removed listener called');
    };
    socket.once('close', () => onceCalls++);
    socket.on('close', removed);
    socket.removeListener('close', removed);
    try {
      socket.end(new Uint8Array([88, 0, 0, 0, 4]));
      expect(heard.closes).toBe(1);
      expect(onceCalls).toBe(1);
      expect(socket.write(new Uint8Array([1]))).toBe(false);
      socket.destroy(); // a second close says nothing more
      expect(heard.closes).toBe(1);
      await until(() => serverClosed, 'the server to see the close');
      expect(Buffer.concat(received)).toEqual(Buffer.from([88, 0, 0, 0, 4]));
      expect(heard.errors).toHaveLength(0);
    } finally {
      await srv.close();
    }
  });

  it('emits close when the server closes the WebSocket', async () => {
    const srv = await server((ws) => ws.on('message', () => ws.close(1011)));
    const socket = await openWebSocketSocket(srv.url, Ctor, asBuffer);
    const heard = listen(socket);
    try {
      socket.write(new Uint8Array([1]));
      await until(() => heard.closes === 1, 'the close');
    } finally {
      socket.destroy();
      await srv.close();
    }
  });

  it('rejects with ECONNREFUSED when nothing listens, and with the constructor error for a bad URL', async () => {
    const srv = await server(() => undefined);
    const url = srv.url;
    await srv.close();
    await expect(openWebSocketSocket(url, Ctor, asBuffer)).rejects.toMatchObject({ code: 'ECONNREFUSED', message: `WebSocket to ${url} failed` });
    await expect(openWebSocketSocket('not a url', Ctor, asBuffer)).rejects.toThrow(/Invalid URL/);
    if ((globalThis as { WebSocket?: unknown }).WebSocket === undefined) {
      await expect(openWebSocketSocket(url, undefined, asBuffer)).rejects.toMatchObject({ code: 'ENOWEBSOCKET' });
    }
  });
});
