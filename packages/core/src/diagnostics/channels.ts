/**
 * The diagnostics contract of `@dsql/core`: the `node:diagnostics_channel` channels every adapter
 * publishes on (through core's own code paths), and what each message holds. Names and payload
 * fields are stable: a field may be added, none renamed or removed without a major version.
 *
 * Free when nobody listens: every publisher checks `channel.hasSubscribers` before it builds a
 * payload or reads a clock. No payload ever holds a token, a password, a secret access key or a
 * session token — only names, numbers, outcomes and classifications (an error is described by
 * its `errorKind` and `sqlstate`, never its message).
 */
import diagnosticsChannel from 'node:diagnostics_channel';

/**
 * The channel names, by event. Subscribe with `diagnostics_channel.subscribe(name, fn)`.
 *
 * @example
 * import { subscribe } from 'node:diagnostics_channel';
 * import { DSQL_CHANNELS, type DsqlTransactionAttemptMessage } from '@dsql/core';
 * subscribe(DSQL_CHANNELS.transactionAttempt, (m) => {
 *   const { attempt, outcome } = m as DsqlTransactionAttemptMessage;
 *   if (outcome === 'occ_conflict') console.warn(`OCC conflict on attempt ${attempt}`);
 * });
 */
export const DSQL_CHANNELS = Object.freeze({
  /** A connection attempt starts (before the rate limiter): {@link DsqlConnectStartMessage}. */
  connectStart: 'dsql:connect:start',
  /** A connection attempt waited for the rate limiter: {@link DsqlConnectRateLimitWaitMessage}. */
  connectRateLimitWait: 'dsql:connect:rate-limit-wait',
  /** A connection attempt ended (authenticated, refused, failed): {@link DsqlConnectEndMessage}. */
  connectEnd: 'dsql:connect:end',
  /** An open connection closed: {@link DsqlConnectionClosedMessage}. */
  connectionClosed: 'dsql:connection:closed',
  /** A token was signed (or signing failed): {@link DsqlTokenSignedMessage}. */
  tokenSigned: 'dsql:token:signed',
  /** A token was handed out past its refresh point while the credential source failed: {@link DsqlTokenStaleServedMessage}. */
  tokenStaleServed: 'dsql:token:stale-served',
  /** The credential source was asked for credentials: {@link DsqlCredentialsResolvedMessage}. */
  credentialsResolved: 'dsql:credentials:resolved',
  /** A `transaction()` call starts: {@link DsqlTransactionStartMessage}. */
  transactionStart: 'dsql:transaction:start',
  /** One attempt of a transaction ended: {@link DsqlTransactionAttemptMessage}. */
  transactionAttempt: 'dsql:transaction:attempt',
  /** A `transaction()` call ended (after its last attempt): {@link DsqlTransactionEndMessage}. */
  transactionEnd: 'dsql:transaction:end',
} as const);

/**
 * Where a connection goes, as every connection message names it (never the credentials).
 *
 * @example
 * const where: DsqlEndpointFields = { endpoint: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', region: 'us-east-1', port: 5432, user: 'admin', database: 'postgres' };
 */
export interface DsqlEndpointFields {
  /** The cluster hostname (SNI and token host), not the `hostaddr` dialled. */
  readonly endpoint: string;
  readonly region: string;
  readonly port: number;
  /** The database role. */
  readonly user: string;
  /** The database name. */
  readonly database: string;
}

/**
 * `dsql:connect:start`.
 *
 * @example
 * subscribe(DSQL_CHANNELS.connectStart, (m) => console.log((m as DsqlConnectStartMessage).attemptId));
 */
export interface DsqlConnectStartMessage extends DsqlEndpointFields {
  /** Process-unique id of this attempt; the `dsql:connect:end` message of the attempt carries it too. */
  readonly attemptId: number;
}

/**
 * `dsql:connect:rate-limit-wait`: published when the attempt was held by the process's
 * connection rate limiter (not when it was admitted at once).
 *
 * @example
 * subscribe(DSQL_CHANNELS.connectRateLimitWait, (m) => histogram.record((m as DsqlConnectRateLimitWaitMessage).waitMs / 1000));
 */
export interface DsqlConnectRateLimitWaitMessage extends DsqlEndpointFields {
  readonly attemptId: number;
  /** Milliseconds the attempt waited for the limiter. */
  readonly waitMs: number;
}

/**
 * How a connection attempt ended: `ok` (authenticated), `rate_limited` (53400, or the limiter's
 * own wait ran out), `refused` (the server said no: access denied, too many connections,
 * cluster waking up, connection refused), `timeout`, `error` (anything else: TLS, DNS, …).
 *
 * @example
 * const outcome: DsqlConnectOutcome = 'refused';
 */
export type DsqlConnectOutcome = 'ok' | 'refused' | 'rate_limited' | 'timeout' | 'error';

/**
 * `dsql:connect:end`.
 *
 * @example
 * subscribe(DSQL_CHANNELS.connectEnd, (m) => { const e = m as DsqlConnectEndMessage; if (e.outcome !== 'ok') console.warn(e.reason); });
 */
export interface DsqlConnectEndMessage extends DsqlEndpointFields {
  readonly attemptId: number;
  readonly outcome: DsqlConnectOutcome;
  /** Why, for an outcome other than `ok`: core's error kind (`access-denied`, `rate-limited`, `too-many-connections`, `transient`, …). */
  readonly reason: string | undefined;
  /** SQLSTATE of the server's refusal, when there is one. */
  readonly sqlstate: string | undefined;
  /** Milliseconds from the start of the attempt (rate-limit wait included). */
  readonly durationMs: number;
  /** Milliseconds spent waiting for the rate limiter (0 when admitted at once). */
  readonly rateLimitWaitMs: number;
  /**
   * Milliseconds from the limiter's admission until the transport was ready for the startup
   * message (TCP connect and TLS handshake; WebSocket upgrade); `undefined` when the attempt failed before.
   */
  readonly dialMs: number | undefined;
  /** Milliseconds of the TLS handshake alone, when the adapter sees it apart from the TCP connect (`@dsql/pg`); else `undefined`. */
  readonly tlsMs: number | undefined;
  /** For `ok`: milliseconds from the dialled transport to an authenticated session (startup, IAM token, ReadyForQuery). */
  readonly authMs: number | undefined;
  /** For `ok`: process-unique id of the connection; its `dsql:connection:closed` carries it. */
  readonly connectionId: number | undefined;
}

/**
 * Why a connection closed: `lifetime` (its maximum lifetime was reached), `idle` (unused for
 * the idle timeout), `server_closed` (the server closed it while it was idle: DSQL's 60-minute
 * limit, a restart), `error` (lost while in use, or a socket error), `client` (the application
 * or the pool closed it for another reason: `end()`, a discarded connection).
 *
 * @example
 * const reason: DsqlConnectionCloseReason = 'server_closed';
 */
export type DsqlConnectionCloseReason = 'lifetime' | 'idle' | 'server_closed' | 'error' | 'client';

/**
 * `dsql:connection:closed`.
 *
 * @example
 * subscribe(DSQL_CHANNELS.connectionClosed, (m) => console.log((m as DsqlConnectionClosedMessage).reason));
 */
export interface DsqlConnectionClosedMessage extends DsqlEndpointFields {
  readonly connectionId: number;
  readonly reason: DsqlConnectionCloseReason;
  /** Milliseconds the connection was open. */
  readonly ageMs: number;
}

/**
 * `dsql:token:signed`: a token was signed (`outcome: 'ok'`) or signing failed (`'error'`).
 * Cache hits publish nothing.
 *
 * @example
 * subscribe(DSQL_CHANNELS.tokenSigned, (m) => console.log((m as DsqlTokenSignedMessage).durationMs));
 */
export interface DsqlTokenSignedMessage {
  /** The host the token is for. */
  readonly endpoint: string;
  readonly region: string;
  readonly user: string;
  readonly action: 'DbConnect' | 'DbConnectAdmin';
  readonly outcome: 'ok' | 'error';
  /** Milliseconds the signing took (credentials already in hand). */
  readonly durationMs: number;
  readonly tokenDurationSecs: number;
}

/**
 * `dsql:token:stale-served`: the current token was handed out past its refresh point because the
 * credential source was failing (static stability).
 *
 * @example
 * subscribe(DSQL_CHANNELS.tokenStaleServed, (m) => console.warn('stale token for', (m as DsqlTokenStaleServedMessage).endpoint));
 */
export interface DsqlTokenStaleServedMessage {
  readonly endpoint: string;
  readonly region: string;
  readonly user: string;
}

/**
 * `dsql:credentials:resolved`: one call to the credential source (profile, default chain, or the
 * provider you passed) finished.
 *
 * @example
 * subscribe(DSQL_CHANNELS.credentialsResolved, (m) => console.log((m as DsqlCredentialsResolvedMessage).source));
 */
export interface DsqlCredentialsResolvedMessage {
  /** A description of the source (`profile "dev"`, `the default credential provider chain`, …), never a value. */
  readonly source: string;
  /** `static` (a credentials object you passed), `provider` (a provider function you passed), `profile`, or `default_chain`. */
  readonly sourceKind: 'static' | 'provider' | 'profile' | 'default_chain';
  readonly region: string | undefined;
  readonly outcome: 'ok' | 'error';
  /** For `error`: whether the source may answer if asked again (unreachable, throttled, 5xx). */
  readonly transient: boolean | undefined;
  readonly durationMs: number;
}

/**
 * `dsql:transaction:start`.
 *
 * @example
 * subscribe(DSQL_CHANNELS.transactionStart, (m) => console.log((m as DsqlTransactionStartMessage).transactionId));
 */
export interface DsqlTransactionStartMessage {
  /** Process-unique id of this `transaction()` call; its attempt and end messages carry it. */
  readonly transactionId: number;
  /** The endpoint of the pool's connections, when it has exactly one (else `undefined`). */
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
}

/**
 * How a transaction attempt (or the whole `transaction()` call) ended: `committed`,
 * `occ_conflict` (40001), `transient` (the connection was lost or refused before COMMIT was
 * sent), `commit_unknown` (`CommitOutcomeUnknownError`: COMMIT sent, answer lost), `error`
 * (anything else, the callback's own errors included).
 *
 * @example
 * const outcome: DsqlTransactionOutcome = 'occ_conflict';
 */
export type DsqlTransactionOutcome = 'committed' | 'occ_conflict' | 'transient' | 'commit_unknown' | 'error';

/**
 * `dsql:transaction:attempt`.
 *
 * @example
 * subscribe(DSQL_CHANNELS.transactionAttempt, (m) => console.log((m as DsqlTransactionAttemptMessage).outcome));
 */
export interface DsqlTransactionAttemptMessage {
  readonly transactionId: number;
  /** The endpoint of the pool's connections, when it has exactly one (else `undefined`). */
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly outcome: DsqlTransactionOutcome;
  /** Core's error kind for an outcome other than `committed`. */
  readonly errorKind: string | undefined;
  readonly sqlstate: string | undefined;
  readonly durationMs: number;
}

/**
 * `dsql:transaction:end`.
 *
 * @example
 * subscribe(DSQL_CHANNELS.transactionEnd, (m) => console.log((m as DsqlTransactionEndMessage).attempts));
 */
export interface DsqlTransactionEndMessage {
  readonly transactionId: number;
  /** The endpoint of the pool's connections, when it has exactly one (else `undefined`). */
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  /** Attempts made. */
  readonly attempts: number;
  /** The last attempt's outcome. */
  readonly outcome: DsqlTransactionOutcome;
  readonly durationMs: number;
}

/** The channel objects, created once. @internal */
export const channels = {
  connectStart: diagnosticsChannel.channel(DSQL_CHANNELS.connectStart),
  connectRateLimitWait: diagnosticsChannel.channel(DSQL_CHANNELS.connectRateLimitWait),
  connectEnd: diagnosticsChannel.channel(DSQL_CHANNELS.connectEnd),
  connectionClosed: diagnosticsChannel.channel(DSQL_CHANNELS.connectionClosed),
  tokenSigned: diagnosticsChannel.channel(DSQL_CHANNELS.tokenSigned),
  tokenStaleServed: diagnosticsChannel.channel(DSQL_CHANNELS.tokenStaleServed),
  credentialsResolved: diagnosticsChannel.channel(DSQL_CHANNELS.credentialsResolved),
  transactionStart: diagnosticsChannel.channel(DSQL_CHANNELS.transactionStart),
  transactionAttempt: diagnosticsChannel.channel(DSQL_CHANNELS.transactionAttempt),
  transactionEnd: diagnosticsChannel.channel(DSQL_CHANNELS.transactionEnd),
};

/** Milliseconds, monotonic (durations only). @internal */
export function monotonicMs(): number {
  return performance.now();
}
