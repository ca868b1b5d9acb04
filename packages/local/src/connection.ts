/**
 * One client connection from accept to a running proxy session: TLS negotiation (SSLRequest or
 * PostgreSQL 17 direct TLS), SNI, startup, DSQL's connection limits, IAM token authentication,
 * then an upstream session.
 */
import { noteCancelRequest } from './cancel-requests.js';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { DsqlLocalCredentials } from './auth/token.js';
import { verifyDsqlToken } from './auth/token.js';
import type { FaultBook } from './faults.js';
import type { OccArbiter } from './occ.js';
import type { TokenBucket } from './limits/token-bucket.js';
import { ProxySession } from './proxy.js';
import type { SqlError, SqlRules } from './sql/hook.js';
import type { DsqlLocalStats } from './stats.js';
import { connectTo, connectUpstream, UpstreamError, type UpstreamSession, type UpstreamTarget } from './upstream/connect.js';
import type { RoleLogins } from './upstream/roles.js';
import { authCleartextPassword, authOk, errorResponse, parameterStatusName, readyForQuery } from './wire/backend.js';
import { FrameLengthError, FrameReader } from './wire/frames.js';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** PostgreSQL's own limit on a startup packet (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_BYTES = 10_000;
/**
 * Largest PasswordMessage accepted (PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH). A token is far
 * shorter (see `MAX_TOKEN_LENGTH`); the cap keeps an unauthenticated client from making the
 * proxy buffer megabytes.
 */
export const MAX_PASSWORD_MESSAGE_BYTES = 65_535;

/** Everything a connection needs from its server. */
export interface ConnectionContext {
  /** The cluster endpoint hostname. */
  host: string;
  region: string;
  credentials: readonly DsqlLocalCredentials[];
  secureContext: tls.SecureContext;
  upstream: UpstreamTarget;
  /** `-c` settings for every upstream session. */
  upstreamSettings: Record<string, string>;
  rules: SqlRules;
  faults: FaultBook;
  stats: DsqlLocalStats;
  bucket: TokenBucket | undefined;
  maxConnections: number;
  maxConnectionAgeMs: number;
  maxTransactionAgeMs: number;
  /**
   * Authenticated connections: running sessions and the ones being connected upstream. Counted
   * against maxConnections; closed by stop().
   */
  sessions: Set<{ close(): void }>;
  /** Decides lock conflicts at COMMIT, first committer wins (see occ.ts); absent: the first writer wins. */
  occ?: OccArbiter;
  /**
   * Connections that have not authenticated yet, oldest first. Not counted against
   * maxConnections (silent sockets must not lock clients out); bounded by `maxHandshakes`
   * instead, and each by `handshakeTimeoutMs`. Closed by stop().
   */
  handshakes: Set<{ close(): void }>;
  /** At most this many unauthenticated connections; a new one evicts the oldest. */
  maxHandshakes: number;
  /** An unauthenticated connection is closed after this long. */
  handshakeTimeoutMs: number;
  /** Set by stop(): connections still arriving are closed at once. */
  closing: boolean;
  /**
   * Logs non-admin roles in as themselves (embedded upstream); undefined: they run as the
   * upstream superuser with `role=<user>`.
   */
  roleLogins: RoleLogins | undefined;
  /** ParameterStatus `server_version` sent instead of upstream's (DSQL reports its own). */
  serverVersionStatus: Buffer;
}

const ACCESS_DENIED = 'unable to accept connection, access denied';
const TOO_MANY_CONNECTIONS: SqlError = { code: '53300', message: 'Unable to accept connection, too many open connections.' };
const AMZN_CLUSTER_ID = /(?:^|\s)(?:-c\s*)?amzn-cluster-id=(\S+)/;

/** One connection before it is authenticated: what closes it, and its handshake deadline. */
interface Handshake {
  close(): void;
  timer: NodeJS.Timeout;
}

/**
 * Accepts one TCP connection. Until it authenticates it is a handshake: bounded in number
 * (the oldest is evicted), in time (`handshakeTimeoutMs`) and in the bytes it may send
 * (`MAX_STARTUP_BYTES`, `MAX_PASSWORD_MESSAGE_BYTES`), so silent or flooding sockets cannot
 * hold slots or memory that authenticated clients need.
 */
export function handleConnection(raw: net.Socket, ctx: ConnectionContext): void {
  ctx.stats.connectionsAccepted++;
  raw.on('error', () => raw.destroy());
  if (ctx.closing) {
    raw.destroy();
    return;
  }
  raw.setNoDelay(true);
  if (ctx.handshakes.size >= ctx.maxHandshakes) {
    // Evict the oldest: a flood of silent sockets then only ever holds the newest few, each for
    // a short while, and a client that completes its handshake promptly gets through.
    const oldest = ctx.handshakes.values().next().value;
    if (oldest) {
      ctx.stats.handshakesEvicted++;
      oldest.close();
      ctx.handshakes.delete(oldest);
    }
  }
  const timer = setTimeout(() => {
    ctx.stats.handshakeTimeouts++;
    raw.destroy();
  }, ctx.handshakeTimeoutMs);
  timer.unref();
  const handshake: Handshake = { close: () => raw.destroy(), timer };
  ctx.handshakes.add(handshake);
  raw.once('close', () => {
    clearTimeout(timer);
    ctx.handshakes.delete(handshake);
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
        startTls(prependedStream(raw, buf), ctx, raw, handshake);
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
        startTls(raw, ctx, raw, handshake);
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
        relayCancel(buf.subarray(0, 16), ctx);
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

/** The key data a client holds is upstream's own (relayed in BackendKeyData): pass the request on. */
function relayCancel(packet: Buffer, ctx: ConnectionContext): void {
  const copy = Buffer.from(packet);
  noteCancelRequest(copy.readInt32BE(8)); // CancelRequest: length, code, backend pid, secret
  const up = connectTo(ctx.upstream, () => up.end(copy));
  up.on('error', () => up.destroy());
}

/** A duplex over `raw` that first yields `head` (bytes already read while sniffing). */
function prependedStream(raw: net.Socket, head: Buffer): Duplex {
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

function startTls(stream: Duplex, ctx: ConnectionContext, raw: net.Socket, handshake: Handshake): void {
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
  socket.once('secure', () => readStartup(socket, ctx, raw, handshake));
}

function fatal(socket: tls.TLSSocket, err: SqlError): void {
  socket.end(errorResponse({ ...err, severity: 'FATAL' }));
  setTimeout(() => socket.destroy(), 1000).unref();
}

function readStartup(socket: tls.TLSSocket, ctx: ConnectionContext, raw: net.Socket, handshake: Handshake): void {
  const parts: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer): void => {
    parts.push(chunk);
    size += chunk.length;
    if (size < 8) return;
    const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    parts.length = 0;
    parts.push(buf);
    const len = buf.readInt32BE(0);
    if (len < 8 || len > MAX_STARTUP_BYTES) {
      ctx.stats.protocolViolations++;
      fatal(socket, { code: '08P01', message: 'invalid length of startup packet' });
      socket.removeListener('data', onData);
      return;
    }
    if (size < len) return;
    socket.removeListener('data', onData);
    socket.pause();
    const code = buf.readInt32BE(4);
    if (code === CANCEL_REQUEST && len === 16) {
      // Some clients (Postgres.js) negotiate TLS for cancel requests too.
      relayCancel(buf.subarray(0, 16), ctx);
      socket.destroy();
      return;
    }
    if (code !== PROTOCOL_3) {
      fatal(socket, { code: '08P01', message: `unsupported frontend protocol ${code >> 16}.${code & 0xffff}` });
      return;
    }
    const params: Record<string, string> = {};
    const fields = buf.toString('utf8', 8, len).split('\0');
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]) params[fields[i]!] = fields[i + 1]!;
    authenticate(socket, ctx, params, buf.subarray(len), raw, handshake).catch(() => socket.destroy());
  };
  socket.on('data', onData);
}

async function authenticate(
  socket: tls.TLSSocket,
  ctx: ConnectionContext,
  params: Record<string, string>,
  extra: Buffer,
  raw: net.Socket,
  handshake: Handshake,
): Promise<void> {
  const { stats } = ctx;
  const sni = (socket as tls.TLSSocket & { servername?: string | false }).servername || undefined;
  // PrivateLink without private DNS: the client names the cluster in the startup options and
  // signs its token for the cluster's own hostname.
  const namedCluster = AMZN_CLUSTER_ID.exec(params.options ?? '')?.[1]?.toLowerCase();
  if (!sni && !namedCluster) {
    stats.tlsRefused++;
    return fatal(socket, { code: '08006', message: 'unable to accept connection, sni was not received' });
  }
  if (!ctx.faults.empty) {
    const f = ctx.faults.take('connect');
    if (f?.kind === 'drop') return void socket.destroy();
    if (f?.kind === 'error') return fatal(socket, f.error);
  }
  const user = params.user ?? '';
  if (!user) return fatal(socket, { code: '28000', message: 'no PostgreSQL user name specified in startup packet' });

  socket.write(authCleartextPassword());
  const password = await readPassword(socket, extra);
  if (password === undefined) return void socket.destroy();
  if (password instanceof FrameLengthError) {
    stats.protocolViolations++;
    return fatal(socket, {
      code: '08P01',
      message: 'invalid message length',
      hint: `A password message is at most ${MAX_PASSWORD_MESSAGE_BYTES} bytes before authentication; an authentication token is far shorter.`,
    });
  }
  const tokenHost = namedCluster ? `${namedCluster}.dsql.${ctx.region}.on.aws` : sni!;
  const verdict = await verifyDsqlToken(password, { host: tokenHost, region: ctx.region, user, credentials: ctx.credentials });
  const endpointOk = namedCluster ? tokenHost === ctx.host : tokenHost.toLowerCase() === ctx.host || tokenHost.toLowerCase() === 'localhost';
  if (!verdict.ok || !endpointOk) {
    const reason = verdict.ok ? 'wrong-host' : verdict.reason;
    const hint = verdict.ok ? `Unknown cluster ${tokenHost}; this endpoint serves ${ctx.host}.` : verdict.hint;
    stats.authFailures[reason] = (stats.authFailures[reason] ?? 0) + 1;
    return fatal(socket, { code: '08006', message: ACCESS_DENIED, hint });
  }
  if (socket.destroyed || ctx.closing) return void socket.destroy();
  stats.authenticated++;
  // Counted from here, against the connection rate and maxConnections: connections that never
  // authenticate must not use up what clients with a token need.
  if (ctx.bucket && !ctx.bucket.tryTake()) {
    stats.rateLimited++;
    return fatal(socket, { code: '53400', message: 'Unable to accept connection, rate exceeded.' });
  }
  if (ctx.sessions.size >= ctx.maxConnections) {
    stats.tooManyConnections++;
    return fatal(socket, TOO_MANY_CONNECTIONS);
  }
  clearTimeout(handshake.timer);
  ctx.handshakes.delete(handshake);
  const admission = { close: () => raw.destroy() };
  ctx.sessions.add(admission);
  raw.once('close', () => ctx.sessions.delete(admission));

  // Upstream: the emulator's superuser for `admin`; any other role logs in as itself (embedded
  // upstream) or runs as itself via the `role` setting (see README: "Roles").
  const asRole = user !== 'admin' && user !== ctx.upstream.user;
  const settings = { ...ctx.upstreamSettings };
  if (asRole && !ctx.roleLogins) settings.role = user;
  const options = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v.replace(/\\/g, '\\\\').replace(/ /g, '\\ ')}`)
    .join(' ');
  const forwarded: Record<string, string> = { options };
  for (const [k, v] of Object.entries(params)) {
    if (k !== 'user' && k !== 'database' && k !== 'options' && k !== 'replication') forwarded[k] = v;
  }
  let up: UpstreamSession;
  try {
    const target = { ...ctx.upstream, database: params.database || 'postgres' };
    up = asRole && ctx.roleLogins ? await ctx.roleLogins.connect(user, target, forwarded) : await connectUpstream(target, forwarded);
  } catch (err) {
    ctx.sessions.delete(admission);
    const fields = err instanceof UpstreamError ? err.fields : undefined;
    if (fields?.get('C') === '42704' || fields?.get('M')?.startsWith('invalid value for parameter "role"')) {
      return fatal(socket, { code: '28000', message: `role "${user}" does not exist` });
    }
    if (fields?.get('C') === '53300') {
      // PostgreSQL's "sorry, too many clients already": the upstream is full before
      // maxConnections is reached (see README: "Connection limits"). Answered as DSQL does.
      stats.tooManyConnections++;
      return fatal(socket, TOO_MANY_CONNECTIONS);
    }
    if (fields) return fatal(socket, { code: fields.get('C') ?? 'XX000', message: fields.get('M') ?? 'upstream error' });
    return fatal(socket, { code: 'XX000', message: 'server unavailable' });
  }
  ctx.sessions.delete(admission);
  if (socket.destroyed || ctx.closing) {
    up.socket.destroy();
    socket.destroy();
    return;
  }
  const greeting = up.greeting
    .filter((f) => f[0] === 0x53 /* S */ || f[0] === 0x4b /* K */ || f[0] === 0x4e /* N */)
    .map((f) => (f[0] === 0x53 && parameterStatusName(f) === 'server_version' ? ctx.serverVersionStatus : f));
  socket.write(Buffer.concat([authOk(), ...greeting, readyForQuery('I')]));

  stats.openConnections++;
  const ageMs = ctx.maxConnectionAgeMs;
  // Jitter so sessions opened together do not close together: up to 1 % of the age, ≤ 10 s.
  const jitter = Math.random() * Math.min(ageMs * 0.01, 10_000);
  const session = new ProxySession(
    socket,
    up.socket,
    ctx.rules.newSession(),
    { faults: ctx.faults, stats, maxTransactionAgeMs: ctx.maxTransactionAgeMs, closeAt: Date.now() + ageMs + jitter, occ: ctx.occ, pid: backendPid(up.greeting) },
    () => {
      stats.openConnections--;
      ctx.sessions.delete(session);
      raw.destroy();
    },
  );
  ctx.sessions.add(session);
  session.start();
  if (up.rest) up.socket.unshift(up.rest);
  socket.resume();
}

/**
 * Waits for the PasswordMessage: its text; undefined if the client went away or sent something
 * else; a FrameLengthError if it announced a message longer than MAX_PASSWORD_MESSAGE_BYTES
 * (refused from its header, before the bytes are buffered).
 */
function readPassword(socket: tls.TLSSocket, extra: Buffer): Promise<string | FrameLengthError | undefined> {
  return new Promise((resolve) => {
    const reader = new FrameReader(MAX_PASSWORD_MESSAGE_BYTES);
    let done = false;
    const finish = (v: string | FrameLengthError | undefined): void => {
      if (done) return;
      done = true;
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.pause();
      resolve(v);
    };
    const onData = (chunk: Buffer): void => {
      try {
        reader.feed(chunk, (type, frame) => {
          if (type !== 0x70 /* p */) return finish(undefined);
          const nul = frame.indexOf(0, 5);
          finish(frame.toString('utf8', 5, nul < 0 ? frame.length : nul));
          // Anything the client sent after it is its session's: handed back to the socket.
          const rest = reader.takeRest();
          if (rest) socket.unshift(rest);
        });
      } catch (err) {
        finish(err instanceof FrameLengthError ? err : undefined);
      }
    };
    const onClose = (): void => finish(undefined);
    socket.on('data', onData);
    socket.on('close', onClose);
    if (extra.length) onData(extra);
    socket.resume();
  });
}

/** The upstream backend's process id, from its BackendKeyData (0 if it sent none). */
function backendPid(greeting: readonly Buffer[]): number {
  const key = greeting.find((f) => f[0] === 0x4b /* K */ && f.length >= 13);
  return key ? key.readInt32BE(5) : 0;
}
