/**
 * Opens an authenticated session to the upstream PostgreSQL and hands back the raw socket, plus
 * the messages PostgreSQL sent after authentication (ParameterStatus, BackendKeyData) for the
 * proxy to relay to its client.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { serialize } from 'pg-protocol';
import { FrameReader } from '../wire/frames.js';
import { errorFields } from '../wire/backend.js';
import { scramContinue, scramFinish, scramStart, type ScramState } from './scram.js';

/** Where and as whom to reach the upstream server. */
export interface UpstreamTarget {
  host: string;
  port: number;
  /**
   * A Unix-domain socket of the same server (`…/.s.PGSQL.<port>`). Preferred over TCP when set:
   * a loopback TCP write costs the proxy several times what a Unix-socket write does (the
   * kernel runs the receiver's TCP path in the sender's context), and the proxy writes twice per
   * query.
   */
  socketPath?: string;
  user: string;
  password?: string;
  database: string;
}

/** An error PostgreSQL answered during connection setup. */
export class UpstreamError extends Error {
  constructor(
    message: string,
    readonly fields: Map<string, string>,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/** A ready upstream session. */
export interface UpstreamSession {
  socket: net.Socket;
  /** ParameterStatus / BackendKeyData / NoticeResponse frames received after AuthenticationOk. */
  greeting: Buffer[];
  /** Bytes after the first ReadyForQuery (normally none). */
  rest: Buffer | undefined;
}

/**
 * Connects, authenticates (trust, cleartext, md5, SCRAM-SHA-256) and waits for ReadyForQuery.
 * `params` are extra startup parameters (e.g. `options`, `application_name`).
 */
export function connectUpstream(target: UpstreamTarget, params: Record<string, string>, timeoutMs = 10_000): Promise<UpstreamSession> {
  return new Promise((resolve, reject) => {
    const socket = connectTo(target);
    const reader = new FrameReader();
    const greeting: Buffer[] = [];
    let scram: ScramState | undefined;
    let done = false;
    const timer = setTimeout(() => finish(new Error(`upstream did not answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        socket.pause();
        resolve({ socket, greeting, rest: reader.takeRest() });
      }
    };
    const password = (): string => {
      if (target.password === undefined) throw new Error('upstream asked for a password but none was configured');
      return target.password;
    };
    const onFrame = (type: number, frame: Buffer): void => {
      if (done) return;
      switch (type) {
        case 0x52 /* R */: {
          const code = frame.readInt32BE(5);
          if (code === 0) return;
          if (code === 3) socket.write(serialize.password(password()));
          else if (code === 5) {
            const salt = frame.subarray(9, 13);
            const inner = createHash('md5').update(password() + target.user).digest('hex');
            const outer = createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex');
            socket.write(serialize.password(`md5${outer}`));
          } else if (code === 10) {
            const mechanisms = frame.toString('utf8', 9).split('\0');
            if (!mechanisms.includes('SCRAM-SHA-256')) throw new Error('upstream offers no supported SASL mechanism');
            const start = scramStart(password());
            scram = start.state;
            socket.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', start.clientFirst));
          } else if (code === 11) {
            socket.write(serialize.sendSCRAMClientFinalMessage(scramContinue(scram!, frame.toString('utf8', 9))));
          } else if (code === 12) {
            scramFinish(scram!, frame.toString('utf8', 9));
          } else throw new Error(`unsupported upstream authentication method ${code}`);
          return;
        }
        case 0x45 /* E */: {
          const fields = errorFields(frame);
          finish(new UpstreamError(fields.get('M') ?? 'upstream error', fields));
          return;
        }
        case 0x5a /* Z */:
          finish();
          return;
        default:
          greeting.push(Buffer.from(frame));
      }
    };
    const onData = (chunk: Buffer): void => {
      try {
        reader.feed(chunk, onFrame);
      } catch (err) {
        finish(err as Error);
      }
    };
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => finish(new Error('upstream closed the connection during setup'));
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', () => {
      socket.write(serialize.startup({ user: target.user, database: target.database, ...params }));
    });
  });
}

/**
 * Runs simple-protocol SQL on a fresh upstream session and closes it; throws the first error.
 *
 * @example
 * await runUpstreamSql(target, ['CREATE SCHEMA IF NOT EXISTS sys']);
 */
export async function runUpstreamSql(target: UpstreamTarget, statements: readonly string[]): Promise<void> {
  if (statements.length === 0) return;
  const { socket } = await connectUpstream(target, {});
  try {
    for (const sql of statements) {
      await new Promise<void>((resolve, reject) => {
        const reader = new FrameReader();
        let error: Error | undefined;
        const onData = (chunk: Buffer): void =>
          reader.feed(chunk, (type, frame) => {
            if (type === 0x45) error ??= new UpstreamError(errorFields(frame).get('M') ?? 'error', errorFields(frame));
            if (type === 0x5a) {
              socket.removeListener('data', onData);
              socket.removeListener('error', reject);
              if (error) reject(error);
              else resolve();
            }
          });
        socket.on('data', onData);
        socket.on('error', reject);
        socket.resume();
        socket.write(serialize.query(sql));
      });
    }
  } finally {
    socket.end(serialize.end());
    socket.destroy();
  }
}

/** Parses `postgres://user:pass@host:port/db` into a target. */
/** Opens a socket to the upstream server: its Unix socket when known, else TCP without Nagle. */
export function connectTo(target: UpstreamTarget, onConnect?: () => void): net.Socket {
  return target.socketPath ? net.connect({ path: target.socketPath }, onConnect) : net.connect({ host: target.host, port: target.port, noDelay: true }, onConnect);
}

export function parseUpstreamUrl(url: string): UpstreamTarget {
  let u: URL;
  try {
    // WHATWG URLs reject credentials without a host (`postgres://u:p@/db?host=/dir`, libpq's
    // Unix-socket form): parse it with a placeholder host; `?host=` names the socket then.
    u = new URL(url.replace(/^(postgres(?:ql)?:\/\/[^/?#]*@)(?=[/?#]|$)/, '$1localhost'));
  } catch {
    throw new TypeError(`upstream: invalid URL (${url.replace(/\/\/[^@/]*@/, '//***@')}); expected 'embedded' or postgres://user:password@host:port/database (a Unix socket: ?host=/socket/dir)`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new TypeError(`upstream: unsupported protocol '${u.protocol}'; expected 'embedded' or a postgres:// URL`);
  }
  // libpq's way to name a Unix-socket directory: `?host=/var/run/postgresql` (or the host part
  // percent-encoded, `postgres://u@%2Fvar%2Frun%2Fpostgresql/db`). The TCP host then stays 127.0.0.1.
  const hostParam = u.searchParams.get('host') ?? decodeURIComponent(u.hostname);
  const port = u.port ? Number(u.port) : Number(u.searchParams.get('port') ?? 5432);
  const socketDir = hostParam.startsWith('/') ? hostParam.replace(/\/+$/, '') : undefined;
  return {
    host: socketDir ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port,
    socketPath: socketDir ? `${socketDir}/.s.PGSQL.${port}` : undefined,
    user: decodeURIComponent(u.username) || 'postgres',
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
  };
}
