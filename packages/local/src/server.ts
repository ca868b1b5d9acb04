/**
 * `startDsqlLocal()`: a local Aurora DSQL endpoint — a TLS PostgreSQL wire proxy that verifies
 * IAM tokens and enforces DSQL's connection behaviour, in front of a real PostgreSQL.
 */
import net from 'node:net';
import tls from 'node:tls';
import { inspect } from 'node:util';
import { generateTlsMaterial } from './accept/certs.js';
import { listenWebSocket, type WebSocketListener } from './accept/websocket.js';
import type { DsqlLocalCredentials } from './auth/token.js';
import { FaultBook, type Fault } from './admission/faults.js';
import { TokenBucket } from './admission/token-bucket.js';
import { NetworkLink } from './cluster/link.js';
import type { ConnectionContext } from './context.js';
import { handleConnection, handleWebSocket } from './pipeline.js';
import { resolveOptions, type DsqlLocalOptions, type ResolvedOptions } from './options.js';
import { LOCK_WAIT_BOUND_MS } from './session/occ-commit.js';
import { DSQL_SERVER_VERSION } from './sql/index.js';
import { emptyStats, type DsqlLocalStats } from './stats.js';
import { startSharedUpstream, type SharedUpstream } from './upstream/shared-upstream.js';
import { parameterStatus } from './wire/backend.js';

/**
 * Shared connection options any `@dsql/*` adapter accepts as they are.
 *
 * @example
 * const pool = new DsqlPool(dsql.connectionOptions());        // admin
 * const options = dsql.connectionOptions('app_reader');      // a role created WITH LOGIN
 */
export interface DsqlLocalConnectionOptions {
  host: string;
  hostaddr: string;
  port: number;
  region: string;
  user: string;
  database: string;
  credentials: DsqlLocalCredentials;
  ssl: { ca: string };
}

/**
 * A running local DSQL endpoint.
 *
 * @example
 * const dsql = await startDsqlLocal({ maxConnections: 5 });
 * dsql.inject({ on: 'commit', drop: true });
 * console.log(dsql.stats().authenticated);
 * await dsql.stop();
 */
export interface DsqlLocal {
  /** Cluster endpoint hostname, `<clusterId>.dsql.<region>.on.aws` (use it for SNI and tokens). */
  readonly host: string;
  /** The address to dial: `127.0.0.1`. */
  readonly hostaddr: string;
  readonly port: number;
  /**
   * With `webSocket`: where PostgreSQL over WebSocket is served, `wss://<host>:<port>` (dial
   * `hostaddr`; the name is checked as SNI is). Undefined otherwise.
   *
   * @example
   * const local = await startDsqlLocal({ webSocket: true });
   * const sql = dsql({ ...local.connectionOptions(), transport: 'websocket', webSocketUrl: local.webSocketUrl });
   */
  readonly webSocketUrl: string | undefined;
  readonly region: string;
  readonly clusterId: string;
  /** CA certificate (PEM) that signs the endpoint's certificate: trust it for verify-full. */
  readonly ca: string;
  /** An identity whose tokens the endpoint accepts. */
  readonly credentials: DsqlLocalCredentials;
  /** Upstream PostgreSQL URL (with its password): for test fixtures that need to bypass the proxy. */
  readonly upstreamUrl: string;
  /** Shared connection options for `user` (default `admin`). */
  connectionOptions(user?: string): DsqlLocalConnectionOptions;
  /** Arms a fault that fails or drops the next matching connection, query or COMMIT. */
  inject(fault: Fault): void;
  /** A snapshot of the counters. */
  stats(): DsqlLocalStats;
  /**
   * Ends every connection and the embedded server; removes its files. Idempotent. Always
   * finishes: if the embedded PostgreSQL had died (or had to be killed), everything else is
   * still stopped and removed, then the promise rejects saying so.
   */
  stop(): Promise<void>;
  /**
   * What `JSON.stringify` shows: the endpoint, never the secret access key, the session token
   * or the upstream password (`util.inspect` and `console.log` show as little).
   */
  toJSON(): { host: string; hostaddr: string; port: number; region: string; clusterId: string; accessKeyId: string; upstreamUrl: string };
}

/**
 * Starts a local Aurora DSQL endpoint.
 *
 * @example
 * import { startDsqlLocal } from '@dsql/local';
 * import { DsqlSigner } from '@aws-sdk/dsql-signer';
 * import pg from 'pg';
 *
 * const dsql = await startDsqlLocal();
 * const token = await new DsqlSigner({ hostname: dsql.host, region: dsql.region, credentials: dsql.credentials })
 *   .getDbConnectAdminAuthToken();
 * const client = new pg.Client({ host: dsql.host, port: dsql.port, user: 'admin', password: token,
 *   database: 'postgres', ssl: { ca: dsql.ca, servername: dsql.host },
 *   stream: () => net.connect(dsql.port, dsql.hostaddr) });
 * // … or pass dsql.connectionOptions() to a @dsql adapter.
 * await dsql.stop();
 */
export async function startDsqlLocal(options: DsqlLocalOptions = {}): Promise<DsqlLocal> {
  const o = resolveOptions(options);
  const host = endpointHost(o);
  // Certificates are made while the embedded server starts.
  const tlsPromise = o.tls ? Promise.resolve(o.tls) : generateTlsMaterial([host, 'localhost', HOSTADDR]);
  const shared = await startSharedUpstream({ upstream: o.upstream, sessions: o.maxConnections, rules: o.rules });
  try {
    const { local } = await startEndpoint(o, shared, { material: await tlsPromise, ownsUpstream: true });
    return local;
  } catch (err) {
    await shared.stop();
    throw err;
  }
}

/** The address every endpoint listens on. */
const HOSTADDR = '127.0.0.1';

/** `<clusterId>.dsql.<region>.on.aws`. */
export function endpointHost(o: Pick<ResolvedOptions, 'clusterId' | 'region'>): string {
  return `${o.clusterId}.dsql.${o.region}.on.aws`;
}

/** A started endpoint and the controls a cluster has over it. */
export interface StartedEndpoint {
  local: DsqlLocal;
  ctx: ConnectionContext;
  /** The network in front of it, when started with `link: true`. */
  link: NetworkLink | undefined;
}

/**
 * Starts one endpoint over `shared`. With `ownsUpstream`, its `stop()` stops `shared` too (a
 * single endpoint); otherwise `shared` belongs to a cluster. With `link`, clients reach it
 * through a `NetworkLink` (../cluster/link.ts), whose port the handle gives.
 */
export async function startEndpoint(
  o: ResolvedOptions,
  shared: SharedUpstream,
  { material, ownsUpstream, link: withLink = false }: { material: { cert: string; key: string; ca: string }; ownsUpstream: boolean; link?: boolean },
): Promise<StartedEndpoint> {
  const host = endpointHost(o);
  const hostaddr = HOSTADDR;
  const { rules, target } = shared;
  const upstreamUrl = shared.url;
  const server = net.createServer();
  const sessions: ConnectionContext['sessions'] = new Set();
  const handshakes = new Set<{ close(): void }>();
  let link: NetworkLink | undefined;
  let webSocket: WebSocketListener | undefined;
  try {
    const stats = emptyStats();
    const ctx: ConnectionContext = {
      host,
      region: o.region,
      credentials: o.credentials,
      secureContext: tls.createSecureContext({ cert: material.cert, key: material.key }),
      upstream: target,
      upstreamSettings: {
        default_transaction_isolation: 'repeatable read',
        TimeZone: 'UTC',
        // Outside the writes of a transaction block (see occ-commit.ts `savepoint`), statements
        // may wait for a lock, bounded: reads and DDL meeting a schema change in progress.
        lock_timeout: String(Math.max(o.lockTimeoutMs, LOCK_WAIT_BOUND_MS)),
      },
      lockTimeoutMs: o.lockTimeoutMs,
      rules,
      faults: new FaultBook(() => stats.injectedFaults++),
      stats,
      bucket: o.connectRate ? new TokenBucket(o.connectRate.perSecond, o.connectRate.burst) : undefined,
      maxConnections: o.maxConnections,
      maxConnectionAgeMs: o.maxConnectionAgeSeconds * 1000,
      maxTransactionAgeMs: o.maxTransactionAgeSeconds * 1000,
      sessions,
      unavailable: undefined,
      occ: shared.occ,
      handshakes,
      maxHandshakes: o.maxHandshakes,
      handshakeTimeoutMs: o.handshakeTimeoutSeconds * 1000,
      closing: false,
      roleLogins: shared.roleLogins,
      serverVersionStatus: parameterStatus('server_version', rules.serverVersion ?? DSQL_SERVER_VERSION),
    };
    server.on('connection', (socket) => handleConnection(socket, ctx));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Behind a link, the endpoint's own port is private (any free one); the link takes `port`.
      server.listen(withLink ? 0 : o.port, hostaddr, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    const serverPort = (server.address() as net.AddressInfo).port;
    if (withLink) link = await NetworkLink.listen(serverPort, o.port);
    const port = link ? link.port : serverPort;
    if (o.webSocketPort !== undefined) webSocket = await listenWebSocket(ctx, material, hostaddr, o.webSocketPort, (ws, req) => handleWebSocket(ws, req, ctx));
    const webSocketUrl = webSocket ? `wss://${host}:${webSocket.port}` : undefined;
    const credentials = hideSecret({ ...o.credentials[0]! });
    let stopping: Promise<void> | undefined;
    const safeUpstreamUrl = upstreamUrl.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1[redacted]@');
    const local: DsqlLocal = {
      host,
      hostaddr,
      port,
      webSocketUrl,
      region: o.region,
      clusterId: o.clusterId,
      ca: material.ca,
      credentials,
      upstreamUrl,
      connectionOptions: (user = 'admin') => ({
        host,
        hostaddr,
        port,
        region: o.region,
        user,
        database: 'postgres',
        // Hidden from util.inspect, but JSON keeps the values: connection options are meant to be
        // handed to another process as they are (jest globalSetup → DSQL_LOCAL, see the README).
        // The handle itself, and its `credentials`, hide them from JSON too.
        credentials: hideSecret({ ...credentials }, { fromJson: false }),
        ssl: { ca: material.ca },
      }),
      inject: (fault) => ctx.faults.add(fault),
      stats: () => structuredClone(stats),
      stop: () =>
        (stopping ??= (async () => {
          ctx.closing = true;
          const linkClosed = link?.close();
          const webSocketClosed = webSocket?.close();
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            for (const s of [...handshakes]) s.close();
            for (const s of [...sessions]) s.close();
          });
          await linkClosed;
          await webSocketClosed;
          if (ownsUpstream) await shared.stop();
        })()),
      toJSON: () => ({ host, hostaddr, port, region: o.region, clusterId: o.clusterId, accessKeyId: credentials.accessKeyId, upstreamUrl: safeUpstreamUrl }),
    };
    // Keep the secret and the upstream password out of util.inspect / console.log.
    Object.defineProperty(local, inspect.custom, {
      enumerable: false,
      value: () => `DsqlLocal { host: '${host}', hostaddr: '${hostaddr}', port: ${port}, region: '${o.region}' }`,
    });
    return { local, ctx, link };
  } catch (err) {
    server.close();
    await link?.close();
    await webSocket?.close();
    for (const s of [...handshakes]) s.close();
    for (const s of [...sessions]) s.close();
    throw err;
  }
}

/**
 * The same credentials, with `util.inspect` (and, unless `fromJson` is false, `toJSON`) leaving out
 * the secret access key and the session token (non-enumerable: spreading the object copies the
 * values, not the hiding).
 */
function hideSecret(c: DsqlLocalCredentials, { fromJson = true } = {}): DsqlLocalCredentials {
  const shown = (): Record<string, string> => ({
    accessKeyId: c.accessKeyId,
    secretAccessKey: '[redacted]',
    ...(c.sessionToken !== undefined ? { sessionToken: '[redacted]' } : {}),
  });
  if (fromJson) Object.defineProperty(c, 'toJSON', { enumerable: false, value: shown });
  Object.defineProperty(c, inspect.custom, { enumerable: false, value: () => `DsqlLocalCredentials ${inspect(shown())}` });
  return c;
}
