/**
 * What every stage of a connection gets from its server (built once by `startDsqlLocal`): the
 * endpoint's identity, the upstream, the rules, the limits and the shared counters.
 */
import type tls from 'node:tls';
import type { FaultBook } from './admission/faults.js';
import type { TokenBucket } from './admission/token-bucket.js';
import type { DsqlLocalCredentials } from './auth/token.js';
import type { OccArbiter } from './session/occ-arbiter.js';
import type { SqlError, SqlRules } from './sql/hook.js';
import type { DsqlLocalStats } from './stats.js';
import type { UpstreamTarget } from './upstream/connect.js';
import type { RoleLogins } from './upstream/roles.js';

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
  /** How long a write or locking read in a transaction block waits for a lock before it is set aside (see session/occ-arbiter.ts). */
  lockTimeoutMs: number;
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
  sessions: Set<{ close(): void; fail?(err: SqlError): void }>;
  /**
   * Set while the endpoint refuses service (a cluster Region isolated in mode `'refuse'`): every
   * connection is refused with it (see ../admission/admit.ts).
   */
  unavailable: SqlError | undefined;
  /** Decides lock conflicts at COMMIT, first committer wins (see session/occ-arbiter.ts); absent: the first writer wins. */
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
