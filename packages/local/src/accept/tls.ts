/**
 * TLS on an accepted socket: the endpoint's certificate for any SNI name (the name itself is
 * checked at authentication), ALPN `postgresql` as PostgreSQL 17 direct TLS expects.
 */
import type net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ConnectionContext } from '../context.js';

/** Starts a server-side TLS session over `stream`; `onSecure` runs once the handshake is done. */
export function startTls(stream: Duplex, ctx: ConnectionContext, raw: net.Socket, onSecure: (socket: tls.TLSSocket) => void): void {
  const socket = new tls.TLSSocket(stream, {
    isServer: true,
    secureContext: ctx.secureContext,
    ALPNProtocols: ['postgresql'],
    SNICallback: (_name, cb) => cb(null, ctx.secureContext),
  });
  socket.on('error', () => {
    socket.destroy();
    raw.destroy();
  });
  socket.once('secure', () => onSecure(socket));
}

/** A duplex over `raw` that first yields `head` (bytes already read while sniffing). */
export function prependedStream(raw: net.Socket, head: Buffer): Duplex {
  const d = new Duplex({
    read() {
      raw.resume();
    },
    write(chunk, _enc, cb) {
      raw.write(chunk, cb);
    },
    final(cb) {
      raw.end();
      cb();
    },
    destroy(err, cb) {
      raw.destroy();
      cb(err);
    },
  });
  d.push(head);
  raw.on('data', (c: Buffer) => {
    if (!d.push(c)) raw.pause();
  });
  raw.on('end', () => d.push(null));
  raw.on('close', () => d.destroy());
  return d;
}
