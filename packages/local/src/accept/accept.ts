/**
 * Accept: one TCP connection up to a TLS session that sent its startup packet. TLS is negotiated
 * the two ways PostgreSQL clients do (SSLRequest, or PostgreSQL 17 direct TLS); GSSAPI
 * encryption is declined; a CancelRequest is relayed upstream; a plaintext startup is refused
 * (DSQL requires TLS). Until it authenticates the connection is a handshake (see
 * ../admission/handshakes.ts).
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { startHandshake, type Handshake } from '../admission/handshakes.js';
import type { ConnectionContext } from '../context.js';
import { errorResponse } from '../wire/backend.js';
import { relayCancel } from './cancel-requests.js';
import { CANCEL_REQUEST, GSSENC_REQUEST, readStartup, SSL_REQUEST } from './startup.js';
import { prependedStream, startTls } from './tls.js';

/**
 * The client's byte stream once TLS is up: a TLS socket (TCP), or a WebSocket's stream
 * (./websocket.ts). `servername` is the name the client asked for (SNI); false or null when it sent none.
 */
export type ClientSocket = Duplex & { servername?: string | false | null };

/** A connection that got through the accept stage: TLS is up and the startup packet was read. */
export interface Accepted {
  /** The TLS session, or a WebSocket's stream (paused). */
  socket: ClientSocket;
  /** The TCP socket under it: destroying it ends everything. */
  raw: net.Socket;
  handshake: Handshake;
  /** Startup parameters (`user`, `database`, `options`, …). */
  params: Record<string, string>;
  /** Bytes the client sent after the startup packet. */
  extra: Buffer;
}

/**
 * Accepts one TCP connection and calls `next` once it is a TLS session with a startup packet.
 * Unless `next` settles it, a rejection of `next` destroys the TLS socket.
 */
export function acceptConnection(raw: net.Socket, ctx: ConnectionContext, next: (accepted: Accepted) => Promise<void>): void {
  ctx.stats.connectionsAccepted++;
  raw.on('error', () => raw.destroy());
  if (ctx.closing) {
    raw.destroy();
    return;
  }
  raw.setNoDelay(true);
  const handshake = startHandshake(raw, ctx);
  const secured = (socket: tls.TLSSocket): void =>
    readStartup(socket, ctx, (params, extra) => {
      next({ socket, raw, handshake, params, extra }).catch(() => socket.destroy());
    });

  let buf: Buffer = Buffer.alloc(0);
  let gssencAsked = false;
  const onData = (chunk: Buffer): void => {
    // At most 16 bytes are ever kept here: every branch below decides by then.
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (buf.length === 0) return;
      if (buf[0] === 0x16) {
        // PostgreSQL 17 direct TLS: the first byte is a TLS handshake record.
        raw.removeListener('data', onData);
        raw.pause();
        startTls(prependedStream(raw, buf), ctx, raw, secured);
        return;
      }
      if (buf.length < 8) return;
      const len = buf.readInt32BE(0);
      const code = buf.readInt32BE(4);
      if (code === SSL_REQUEST && len === 8) {
        raw.removeListener('data', onData);
        if (buf.length > 8) {
          // Bytes after SSLRequest before the answer: a man in the middle could have put them there.
          raw.destroy();
          return;
        }
        raw.pause();
        raw.write('S');
        startTls(raw, ctx, raw, secured);
        return;
      }
      if (code === GSSENC_REQUEST && len === 8 && !gssencAsked) {
        // Once, as PostgreSQL: a client may then ask for TLS.
        gssencAsked = true;
        raw.write('N');
        buf = buf.subarray(8);
        continue;
      }
      if (code === CANCEL_REQUEST && len === 16) {
        if (buf.length < 16) return;
        raw.removeListener('data', onData);
        relayCancel(buf.subarray(0, 16), ctx.upstream);
        raw.destroy();
        return;
      }
      // Anything else is a plaintext startup: DSQL requires TLS.
      raw.removeListener('data', onData);
      ctx.stats.tlsRefused++;
      raw.end(errorResponse({ severity: 'FATAL', code: '08006', message: 'unable to accept connection, ssl is required' }));
      raw.destroySoon();
      return;
    }
  };
  raw.on('data', onData);
}
