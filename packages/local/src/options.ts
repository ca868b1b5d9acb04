/** Options of `startDsqlLocal()`, their defaults (DSQL's own quotas) and validation. */
import { randomBytes } from 'node:crypto';
import type { DsqlLocalCredentials } from './auth/token.js';
import type { SqlRules } from './sql/hook.js';

/**
 * Options of `startDsqlLocal`; every limit defaults to Aurora DSQL's.
 *
 * @example
 * await startDsqlLocal({ region: 'eu-west-1', connectRate: { perSecond: 10, burst: 20 }, maxTransactionAgeSeconds: 5 });
 * await startDsqlLocal({ upstream: 'postgres://postgres:secret@127.0.0.1:5432/postgres', rules: passThroughRules });
 */
export interface DsqlLocalOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Region of the emulated cluster (default `us-east-1`). */
  region?: string;
  /** 26-character cluster id (default: generated). */
  clusterId?: string;
  /**
   * `'embedded'` (default): a private PostgreSQL 16, reached over its Unix socket; or a
   * `postgres://` URL of a server you run (a superuser) — over TCP, or over a Unix socket named
   * libpq's way (`postgres://postgres@/postgres?host=/var/run/postgresql&port=5432`), which
   * costs the proxy less per query.
   */
  upstream?: 'embedded' | string;
  /** The identities whose tokens are accepted (default: one generated access key / secret pair). */
  credentials?: DsqlLocalCredentials | readonly DsqlLocalCredentials[];
  /**
   * Maximum authenticated connections (default 10,000); beyond it 53300. The embedded
   * PostgreSQL is sized for up to 500 of them; past what the upstream takes, clients get the
   * same 53300.
   */
  maxConnections?: number;
  /**
   * Connections that have not authenticated yet are not counted in `maxConnections`; at most
   * this many are kept (default 1,000): a new one closes the oldest.
   */
  maxHandshakes?: number;
  /** Seconds a connection has to finish TLS, startup and authentication (default 10). */
  handshakeTimeoutSeconds?: number;
  /** New-connection token bucket (default 100/s, burst 1,000); beyond it 53400. `false` disables. */
  connectRate?: { perSecond: number; burst: number } | false;
  /** Connection age after which an idle session is closed (default 3,600 s, plus jitter). */
  maxConnectionAgeSeconds?: number;
  /** Transaction age after which statements fail with 54000 (default 300 s). */
  maxTransactionAgeSeconds?: number;
  /**
   * How long (ms) a write or locking read in a transaction block may wait for another
   * transaction's row lock before the proxy sets it aside and decides the conflict at COMMIT
   * (default 1). Other statements (reads, DDL, autocommit writes) may wait up to 5 s.
   */
  lockTimeoutMs?: number;
  /** SQL rules (default: DSQL's, `createDsqlRules()`); `passThroughRules` forwards everything. */
  rules?: SqlRules;
  /** Certificates to use instead of generated ones (PEM). */
  tls?: { cert: string; key: string; ca: string };
  /**
   * Also serve PostgreSQL over WebSocket, as DSQL's `wss://<endpoint>:443` does (binary frames,
   * TLS with the same certificate, the same authentication, rules, limits and faults): `true`
   * on any free port, or `{ port }`. The handle's `webSocketUrl` names it. Default off.
   */
  webSocket?: boolean | { port?: number };
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  port: number;
  region: string;
  clusterId: string;
  upstream: string;
  credentials: DsqlLocalCredentials[];
  maxConnections: number;
  maxHandshakes: number;
  handshakeTimeoutSeconds: number;
  connectRate: { perSecond: number; burst: number } | false;
  maxConnectionAgeSeconds: number;
  maxTransactionAgeSeconds: number;
  lockTimeoutMs: number;
  rules: SqlRules | undefined;
  tls: { cert: string; key: string; ca: string } | undefined;
  /** WebSocket port (0: any free one); undefined: no WebSocket. */
  webSocketPort: number | undefined;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A random 26-character cluster id like DSQL's. */
export function generateClusterId(): string {
  return Array.from(randomBytes(26), (b) => BASE32[b & 31]).join('');
}

/** A random AWS-shaped access key pair for the emulator. */
export function generateCredentials(): DsqlLocalCredentials {
  const akid = `AKIALOCAL${Array.from(randomBytes(11), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b & 31]).join('')}`;
  return { accessKeyId: akid, secretAccessKey: randomBytes(30).toString('base64').replace(/[+/=]/g, 'x') };
}

function positive(name: string, v: unknown, { integer = false, allowZero = false } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0) || (integer && !Number.isInteger(v))) {
    throw new TypeError(
      `startDsqlLocal: '${name}' must be a ${allowZero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'} (got ${JSON.stringify(v)})`,
    );
  }
  return v;
}

/** Applies defaults and validates; errors name the option, the value given and what is accepted. */
export function resolveOptions(o: DsqlLocalOptions = {}): ResolvedOptions {
  const region = o.region ?? 'us-east-1';
  if (typeof region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new TypeError(`startDsqlLocal: 'region' must look like 'us-east-1' (got ${JSON.stringify(region)})`);
  }
  const clusterId = o.clusterId ?? generateClusterId();
  if (typeof clusterId !== 'string' || !/^[a-z0-9]{26}$/.test(clusterId)) {
    throw new TypeError(`startDsqlLocal: 'clusterId' must be 26 lowercase letters or digits (got ${JSON.stringify(clusterId)})`);
  }
  const upstream = o.upstream ?? 'embedded';
  if (upstream !== 'embedded' && !/^postgres(ql)?:\/\//.test(upstream)) {
    throw new TypeError(`startDsqlLocal: 'upstream' must be 'embedded' or a postgres:// URL (got ${JSON.stringify(String(upstream).replace(/\/\/[^@/]*@/, '//***@'))})`);
  }
  const list = o.credentials === undefined ? [generateCredentials()] : Array.isArray(o.credentials) ? [...o.credentials] : [o.credentials as DsqlLocalCredentials];
  if (list.length === 0 || list.some((c) => !c || typeof c.accessKeyId !== 'string' || !c.accessKeyId || typeof c.secretAccessKey !== 'string' || !c.secretAccessKey)) {
    throw new TypeError(`startDsqlLocal: 'credentials' must be { accessKeyId, secretAccessKey, sessionToken? } or a non-empty array of them`);
  }
  let connectRate: ResolvedOptions['connectRate'] = { perSecond: 100, burst: 1000 };
  if (o.connectRate === false) connectRate = false;
  else if (o.connectRate !== undefined) {
    connectRate = { perSecond: positive('connectRate.perSecond', o.connectRate.perSecond), burst: positive('connectRate.burst', o.connectRate.burst, { integer: true }) };
  }
  const tlsOpt = o.tls;
  if (tlsOpt !== undefined && (typeof tlsOpt.cert !== 'string' || typeof tlsOpt.key !== 'string' || typeof tlsOpt.ca !== 'string')) {
    throw new TypeError(`startDsqlLocal: 'tls' must be { cert, key, ca } as PEM strings`);
  }
  return {
    port: o.port === undefined ? 0 : positive('port', o.port, { integer: true, allowZero: true }),
    region,
    clusterId,
    upstream,
    credentials: list,
    maxConnections: o.maxConnections === undefined ? 10_000 : positive('maxConnections', o.maxConnections, { integer: true }),
    maxHandshakes: o.maxHandshakes === undefined ? 1000 : positive('maxHandshakes', o.maxHandshakes, { integer: true }),
    handshakeTimeoutSeconds: o.handshakeTimeoutSeconds === undefined ? 10 : positive('handshakeTimeoutSeconds', o.handshakeTimeoutSeconds),
    connectRate,
    maxConnectionAgeSeconds: o.maxConnectionAgeSeconds === undefined ? 3600 : positive('maxConnectionAgeSeconds', o.maxConnectionAgeSeconds),
    maxTransactionAgeSeconds: o.maxTransactionAgeSeconds === undefined ? 300 : positive('maxTransactionAgeSeconds', o.maxTransactionAgeSeconds),
    lockTimeoutMs: o.lockTimeoutMs === undefined ? 1 : positive('lockTimeoutMs', o.lockTimeoutMs, { integer: true }),
    rules: o.rules,
    tls: tlsOpt,
    webSocketPort: resolveWebSocket(o.webSocket),
  };
}

function resolveWebSocket(v: DsqlLocalOptions['webSocket']): number | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return 0;
  if (typeof v === 'object' && v !== null) return v.port === undefined ? 0 : positive('webSocket.port', v.port, { integer: true, allowZero: true });
  throw new TypeError(`startDsqlLocal: 'webSocket' must be true, false or { port } (got ${JSON.stringify(v)})`);
}
