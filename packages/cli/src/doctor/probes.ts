/**
 * The network probes of `dsql doctor`, each bounded by a timeout: a TCP connect, and PostgreSQL's
 * TLS negotiation (SSLRequest, then TLS with SNI and verify-full) — the two steps a driver's
 * "Connection attempt failed" hides.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';

/** A probe's failure, with the system error code when there is one (`ECONNREFUSED`, `CERT_HAS_EXPIRED`, …). */
export class ProbeError extends Error {
  override name = 'ProbeError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function withTimeout<T>(ms: number, what: string, start: (done: (err: Error | null, value?: T) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cleanup: () => void = () => undefined;
    const timer = setTimeout(() => {
      cleanup();
      reject(new ProbeError(`no answer to ${what} within ${ms / 1000} s`, 'TIMEOUT'));
    }, ms);
    cleanup = start((err, value) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value as T);
    });
  });
}

const asProbeError = (err: unknown): ProbeError => {
  const e = err as NodeJS.ErrnoException;
  return err instanceof ProbeError ? err : new ProbeError(e?.message ?? String(err), e?.code ?? 'ERROR');
};

/**
 * Opens a TCP connection and resolves the time it took (ms); the socket is closed.
 *
 * @example
 * const ms = await probeTcp('127.0.0.1', 5432, 5000);
 */
export async function probeTcp(host: string, port: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  try {
    await withTimeout<void>(timeoutMs, `a TCP connection to ${host}:${port}`, (done) => {
      const socket = tcpConnect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        done(null);
      });
      socket.once('error', (err) => done(err));
      return () => socket.destroy();
    });
  } catch (err) {
    throw asProbeError(err);
  }
  return performance.now() - started;
}

/** What the TLS handshake showed. */
export interface TlsResult {
  protocol: string;
  subject: string;
  issuer: string;
  validTo: string;
}

const name = (c: PeerCertificate['subject'] | undefined): string => (c ? String(c.CN ?? c.O ?? JSON.stringify(c)) : '?');

/**
 * PostgreSQL's SSLRequest, then a TLS handshake with SNI = `servername`, verifying the chain
 * (against `ca`, else Node's roots) and the host name, as `sslmode=verify-full` does.
 *
 * @example
 * const { protocol } = await probeTls({ host: '127.0.0.1', port: 5432, servername: endpoint, ca: undefined, timeoutMs: 5000 });
 */
export async function probeTls(o: { host: string; port: number; servername: string; ca: string | undefined; timeoutMs: number }): Promise<TlsResult> {
  let raw: Socket | undefined;
  try {
    return await withTimeout<TlsResult>(o.timeoutMs, 'the TLS negotiation (SSLRequest)', (done) => {
      raw = tcpConnect({ host: o.host, port: o.port });
      raw.once('error', (err) => done(err));
      raw.once('connect', () => {
        const request = Buffer.alloc(8);
        request.writeInt32BE(8, 0);
        request.writeInt32BE(80877103, 4);
        raw!.write(request);
      });
      raw.once('data', (answer) => {
        if (answer[0] !== 0x53) {
          done(new ProbeError(`the server answered the SSLRequest with ${JSON.stringify(String.fromCharCode(answer[0] ?? 0))} instead of S: it does not speak TLS (is this a DSQL endpoint?)`, 'NO_TLS'));
          return;
        }
        const tls = tlsConnect({ socket: raw!, servername: o.servername, ...(o.ca ? { ca: o.ca } : {}), rejectUnauthorized: true });
        tls.once('error', (err) => done(err));
        tls.once('secureConnect', () => {
          const cert = tls.getPeerCertificate();
          const result = { protocol: tls.getProtocol() ?? '?', subject: name(cert.subject), issuer: name(cert.issuer), validTo: cert.valid_to };
          tls.destroy();
          done(null, result);
        });
      });
      return () => raw?.destroy();
    });
  } catch (err) {
    throw asProbeError(err);
  } finally {
    raw?.destroy();
  }
}
