import net from 'node:net';
import tls from 'node:tls';
import type { DsqlDialTarget } from '../failover/endpoint-session.js';
import { SSL_REQUEST_CODE } from './wire.js';

/** Where to dial and how to secure the connection: core's session (`dial`, `tls`) plus TCP keep-alive. */
export interface DialTarget {
  /** The session's dial target: `address` is dialled, `host` / `servername` name the cluster in TLS. */
  dial: Pick<DsqlDialTarget, 'host' | 'port' | 'address' | 'servername'>;
  /**
   * `tls.connect` options (the session's: SNI, CA, verification); `false` for a plaintext
   * connection, which only a custom host with `sslmode: 'disable'` gets.
   */
  tls: tls.ConnectionOptions | false;
  /** TCP keep-alive, in seconds (0 or undefined: off). */
  keepAliveSeconds?: number | undefined;
}

const SSL_REQUEST = (() => {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(SSL_REQUEST_CODE, 4);
  return b;
})();

/**
 * Opens a TCP connection to `dial.address` (`hostaddr`, else the host), asks for TLS with an SSLRequest and upgrades
 * with SNI and certificate verification against `dial.host` (verify-full unless `tls` says
 * otherwise). Resolves once the TLS handshake has succeeded; destroys everything if `signal`
 * aborts first.
 *
 * Done here rather than by Postgres.js because its `ssl` path takes the name for SNI from the
 * address it dials, which breaks `hostaddr`, and because the IAM handshake that follows needs
 * the plaintext side.
 *
 * @example
 * const socket = await dialTls({ dial: session.dial, tls: session.tls }, signal);
 */
export function dialTls(target: DialTarget, signal?: AbortSignal): Promise<tls.TLSSocket | net.Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const { dial } = target;
    const tcp = net.connect({ host: dial.address, port: dial.port });
    let secure: tls.TLSSocket | undefined;
    const fail = (err: unknown): void => {
      cleanup();
      secure?.destroy();
      tcp.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(signal?.reason);
    const cleanup = (): void => {
      signal?.removeEventListener('abort', onAbort);
      tcp.removeListener('error', fail);
      tcp.removeListener('close', onEarlyClose);
    };
    const onEarlyClose = (): void => fail(Object.assign(new Error('Connection closed before TLS was negotiated'), { code: 'ECONNRESET' }));
    signal?.addEventListener('abort', onAbort, { once: true });
    tcp.once('error', fail);
    tcp.once('close', onEarlyClose);
    tcp.once('connect', () => {
      if (target.keepAliveSeconds) tcp.setKeepAlive(true, target.keepAliveSeconds * 1000);
      tcp.setNoDelay(true);
      if (target.tls === false) {
        cleanup();
        resolve(tcp);
        return;
      }
      tcp.write(SSL_REQUEST);
    });
    if (target.tls === false) return;
    const tlsOptions = target.tls;
    tcp.once('data', (answer: Buffer) => {
      if (answer[0] !== 0x53 /* S */) {
        return fail(Object.assign(new Error('The server refused TLS (SSLRequest answered "N"); Aurora DSQL requires TLS'), { code: 'ETLSREFUSED' }));
      }
      tcp.removeListener('close', onEarlyClose);
      tcp.removeListener('error', fail);
      secure = tls.connect({ servername: dial.servername, host: dial.host, ...tlsOptions, socket: tcp });
      secure.once('error', fail);
      secure.once('secureConnect', () => {
        cleanup();
        secure!.removeListener('error', fail);
        resolve(secure!);
      });
    });
  });
}
