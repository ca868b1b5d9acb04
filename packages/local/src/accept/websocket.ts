/**
 * Accept over WebSocket: DSQL's `wss://<endpoint>:443`, where the PostgreSQL messages ride in
 * binary frames and TLS comes from the WebSocket layer (no SSLRequest inside). The upgrade is
 * served by `ws` (a well-kept server; hand-written frame parsing would be a liability) on an
 * HTTPS server with the endpoint's certificate. Each WebSocket becomes a Duplex
 * (`createWebSocketStream`) that goes through the very stages a TCP connection does
 * (../pipeline.ts): startup, the named cluster, token, admission, limits, faults.
 *
 * The cluster the client names is the TLS SNI name, as for TCP; a client that sent no SNI (some
 * send none for some names) is taken at its `Host` header's word unless that is an IP address.
 */
import https from 'node:https';
import type net from 'node:net';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type tls from 'node:tls';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';
import { startHandshake } from '../admission/handshakes.js';
import type { ConnectionContext } from '../context.js';
import type { Accepted, ClientSocket } from './accept.js';
import { readStartup } from './startup.js';

/** A listening WebSocket endpoint. */
export interface WebSocketListener {
  readonly port: number;
  /** Stops accepting and closes every connection it holds (sessions close with them). */
  close(): Promise<void>;
}

/**
 * Listens for PostgreSQL over WebSocket on `host:port` with the endpoint's certificate; every
 * WebSocket is handed to `onConnection` with the TLS socket under it.
 */
export async function listenWebSocket(
  ctx: ConnectionContext,
  material: { cert: string; key: string },
  host: string,
  port: number,
  onConnection: (ws: WebSocket, req: IncomingMessage) => void,
): Promise<WebSocketListener> {
  const server = https.createServer({
    cert: material.cert,
    key: material.key,
    SNICallback: (_name, cb) => cb(null, ctx.secureContext),
    // A TLS handshake gets the same deadline as a TCP connection's authentication.
    handshakeTimeout: ctx.handshakeTimeoutMs,
  });
  // Bound what an upgrade may take: the handshake deadline applies once it is a WebSocket.
  server.headersTimeout = ctx.handshakeTimeoutMs;
  server.requestTimeout = ctx.handshakeTimeoutMs;
  server.on('request', (_req, res) => {
    // Only WebSocket upgrades are served here.
    res.writeHead(426, { upgrade: 'websocket', connection: 'close' }).end();
  });
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  // perMessageDeflate off: DSQL's endpoint carries the protocol as it is; compression would cost CPU on every frame.
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  wss.on('connection', onConnection);
  wss.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** The name the client asked for: its SNI, else its Host header's hostname (not an IP address). */
export function requestedName(req: IncomingMessage): string | undefined {
  const sni = (req.socket as tls.TLSSocket).servername;
  if (sni) return sni.toLowerCase();
  const hostHeader = req.headers.host ?? '';
  const name = hostHeader.startsWith('[') ? hostHeader.slice(1, hostHeader.indexOf(']')) : hostHeader.replace(/:\d+$/, '');
  return name && !isIP(name) ? name.toLowerCase() : undefined;
}

/**
 * Accepts one WebSocket and calls `next` once its startup packet was read, as
 * `acceptConnection` does for TCP. Counted in `connectionsAccepted` and `webSocketConnections`.
 */
export function acceptWebSocket(ws: WebSocket, req: IncomingMessage, ctx: ConnectionContext, next: (accepted: Accepted) => Promise<void>): void {
  ctx.stats.connectionsAccepted++;
  ctx.stats.webSocketConnections++;
  // The TLS socket under the WebSocket: destroying it ends everything, as `raw` does for TCP.
  const raw = req.socket as net.Socket;
  raw.on('error', () => raw.destroy());
  if (ctx.closing) {
    ws.terminate();
    return;
  }
  raw.setNoDelay(true);
  const handshake = startHandshake(raw, ctx);
  const stream: ClientSocket = createWebSocketStream(ws);
  stream.servername = requestedName(req) ?? false;
  stream.on('error', () => stream.destroy());
  stream.on('close', () => raw.destroy());
  readStartup(stream, ctx, (params, extra) => {
    next({ socket: stream, raw, handshake, params, extra }).catch(() => stream.destroy());
  });
}
