/**
 * One client connection from accept to a running proxy session: TLS negotiation (SSLRequest or
 * PostgreSQL 17 direct TLS), SNI, startup, DSQL's connection limits, IAM token authentication,
 * then an upstream session.
 */
import type net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { DsqlLocalCredentials } from './auth/token.js';
import { verifyDsqlToken } from './auth/token.js';
import type { FaultBook } from './faults.js';
import type { TokenBucket } from './limits/token-bucket.js';
import { ProxySession } from './proxy.js';
import type { SqlError, SqlRules } from './sql/hook.js';
import type { DsqlLocalStats } from './stats.js';
import { connectTo, connectUpstream, UpstreamError, type UpstreamSession, type UpstreamTarget } from './upstream/connect.js';
import type { RoleLogins } from './upstream/roles.js';
import { authCleartextPassword, authOk, errorResponse, parameterStatusName, readyForQuery } from './wire/backend.js';
import { FrameReader } from './wire/frames.js';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const SETUP_TIMEOUT_MS = 30_000;

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
  /** Open sessions (counted against maxConnections), closed by stop(). */
  sessions: Set<{ close(): void }>;
  /**
   * Logs non-admin roles in as themselves (embedded upstream); undefined: they run as the
   * upstream superuser with `role=<user>`.
   */
  roleLogins: RoleLogins | undefined;
  /** ParameterStatus `server_version` sent instead of upstream's (DSQL reports its own). */
  serverVersionStatus: Buffer;
}

const ACCESS_DENIED = 'unable to accept connection, access denied';
const AMZN_CLUSTER_ID = /(?:^|\s)(?:-c\s*)?amzn-cluster-id=(\S+)/;

/** Accepts one TCP connection. */
export function handleConnection(raw: net.Socket, ctx: ConnectionContext): void {
  ctx.stats.connectionsAccepted++;
  raw.setNoDelay(true);
  raw.on('error', () => raw.destroy());
  const timer = setTimeout(() => raw.destroy(), SETUP_TIMEOUT_MS);
  timer.unref();
  raw.once('close', () => clearTimeout(timer));
  // A registration that lets stop() end connections still in setup.
  const pending = { close: () => raw.destroy() };
  ctx.sessions.add(pending);
  raw.once('close', () => ctx.sessions.delete(pending));

  let buf: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    if (buf[0] === 0x16) {
      // PostgreSQL 17 direct TLS: the first byte is a TLS handshake record.
      raw.removeListener('data', onData);
      raw.pause();
      startTls(prependedStream(raw, buf), ctx, raw, pending, timer);
      return;
    }
    if (buf.length < 8) return;
    const len = buf.readInt32BE(0);
    const code = buf.readInt32BE(4);
    if (code === SSL_REQUEST && len === 8) {
      raw.removeListener('data', onData);
      if (buf.length > 8) {
        raw.destroy();
        return;
      }
      raw.pause();
      raw.write('S');
      startTls(raw, ctx, raw, pending, timer);
      return;
    }
    if (code === GSSENC_REQUEST && len === 8) {
      raw.write('N');
      buf = buf.subarray(8);
      return;
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
  };
  raw.on('data', onData);
}

/** The key data a client holds is upstream's own (relayed in BackendKeyData): pass the request on. */
function relayCancel(packet: Buffer, ctx: ConnectionContext): void {
  const copy = Buffer.from(packet);
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

function startTls(stream: Duplex, ctx: ConnectionContext, raw: net.Socket, pending: { close(): void }, timer: NodeJS.Timeout): void {
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
  socket.once('secure', () => readStartup(socket, ctx, raw, pending, timer));
}

function fatal(socket: tls.TLSSocket, err: SqlError): void {
  socket.end(errorResponse({ ...err, severity: 'FATAL' }));
  setTimeout(() => socket.destroy(), 1000).unref();
}

function readStartup(socket: tls.TLSSocket, ctx: ConnectionContext, raw: net.Socket, pending: { close(): void }, timer: NodeJS.Timeout): void {
  let buf: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    if (buf.length < 8) return;
    const len = buf.readInt32BE(0);
    if (len < 8 || len > 10_000) {
      socket.destroy();
      return;
    }
    if (buf.length < len) return;
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
    const parts = buf.toString('utf8', 8, len).split('\0');
    for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i]) params[parts[i]!] = parts[i + 1]!;
    void authenticate(socket, ctx, params, buf.subarray(len), raw, pending, timer);
  };
  socket.on('data', onData);
}

async function authenticate(
  socket: tls.TLSSocket,
  ctx: ConnectionContext,
  params: Record<string, string>,
  extra: Buffer,
  raw: net.Socket,
  pending: { close(): void },
  timer: NodeJS.Timeout,
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
  if (ctx.bucket && !ctx.bucket.tryTake()) {
    stats.rateLimited++;
    return fatal(socket, { code: '53400', message: 'Unable to accept connection, rate exceeded.' });
  }
  // `pending` is this connection's own entry in ctx.sessions.
  if (ctx.sessions.size > ctx.maxConnections) {
    stats.tooManyConnections++;
    return fatal(socket, { code: '53300', message: 'Unable to accept connection, too many open connections.' });
  }
  const user = params.user ?? '';
  if (!user) return fatal(socket, { code: '28000', message: 'no PostgreSQL user name specified in startup packet' });

  socket.write(authCleartextPassword());
  const password = await readPassword(socket, extra);
  if (password === undefined) return void socket.destroy();
  const tokenHost = namedCluster ? `${namedCluster}.dsql.${ctx.region}.on.aws` : sni!;
  const verdict = await verifyDsqlToken(password, { host: tokenHost, region: ctx.region, user, credentials: ctx.credentials });
  const endpointOk = namedCluster ? tokenHost === ctx.host : tokenHost.toLowerCase() === ctx.host || tokenHost.toLowerCase() === 'localhost';
  if (!verdict.ok || !endpointOk) {
    const reason = verdict.ok ? 'wrong-host' : verdict.reason;
    const hint = verdict.ok ? `Unknown cluster ${tokenHost}; this endpoint serves ${ctx.host}.` : verdict.hint;
    stats.authFailures[reason] = (stats.authFailures[reason] ?? 0) + 1;
    return fatal(socket, { code: '08006', message: ACCESS_DENIED, hint });
  }
  stats.authenticated++;

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
    const fields = err instanceof UpstreamError ? err.fields : undefined;
    if (fields?.get('C') === '42704' || fields?.get('M')?.startsWith('invalid value for parameter "role"')) {
      return fatal(socket, { code: '28000', message: `role "${user}" does not exist` });
    }
    if (fields) return fatal(socket, { code: fields.get('C') ?? 'XX000', message: fields.get('M') ?? 'upstream error' });
    return fatal(socket, { code: 'XX000', message: 'server unavailable' });
  }
  if (socket.destroyed) {
    up.socket.destroy();
    return;
  }
  clearTimeout(timer);
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
    { faults: ctx.faults, stats, maxTransactionAgeMs: ctx.maxTransactionAgeMs, closeAt: Date.now() + ageMs + jitter },
    () => {
      stats.openConnections--;
      ctx.sessions.delete(session);
      raw.destroy();
    },
  );
  ctx.sessions.delete(pending);
  ctx.sessions.add(session);
  session.start();
  if (up.rest) up.socket.unshift(up.rest);
  socket.resume();
}

/** Waits for the PasswordMessage; undefined if the client went away or sent something else. */
function readPassword(socket: tls.TLSSocket, extra: Buffer): Promise<string | undefined> {
  return new Promise((resolve) => {
    const reader = new FrameReader();
    let done = false;
    const finish = (v: string | undefined): void => {
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
          finish(frame.toString('utf8', 5, frame.indexOf(0, 5) < 0 ? frame.length : frame.indexOf(0, 5)));
        });
      } catch {
        finish(undefined);
      }
    };
    const onClose = (): void => finish(undefined);
    socket.on('data', onData);
    socket.on('close', onClose);
    if (extra.length) onData(extra);
    socket.resume();
  });
}
