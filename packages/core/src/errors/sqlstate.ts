import { errorChain, type ErrorFields } from './error-chain.js';
import { isDsqlError } from './errors.js';
import { redact } from './redact.js';

/**
 * What an error means for a DSQL application. One literal union, produced in one place
 * ({@link classifyError}).
 *
 * @example
 * const kind: ErrorKind = classifyError(err).kind;
 */
export type ErrorKind =
  | 'occ-conflict'
  | 'transient'
  | 'access-denied'
  | 'rate-limited'
  | 'too-many-connections'
  | 'limit-exceeded'
  | 'unsupported'
  | 'transaction-aborted'
  | 'commit-outcome-unknown'
  | 'config'
  | 'credentials'
  | 'other';

/**
 * Result of {@link classifyError}.
 *
 * @example
 * const { kind, retryable, hint }: ErrorClassification = classifyError(err);
 */
export interface ErrorClassification {
  readonly kind: ErrorKind;
  /** True when trying again (a new transaction or a new connection) can succeed as is. */
  readonly retryable: boolean;
  /** SQLSTATE of the deciding server error, when there is one. */
  readonly sqlstate: string | undefined;
  /** The deciding message, redacted. */
  readonly message: string;
  /** What to do next, for a human. */
  readonly hint: string;
}

/**
 * SQLSTATE → meaning on Aurora DSQL: the one table of this package. Classes are matched by
 * their two-character prefix when no exact code is listed.
 *
 * @example
 * SQLSTATE_MEANINGS['53400'].meaning // 'connection rate exceeded (…)'
 */
export const SQLSTATE_MEANINGS: Readonly<Record<string, { readonly kind: ErrorKind; readonly meaning: string }>> = Object.freeze({
  '40001': { kind: 'occ-conflict', meaning: 'optimistic concurrency conflict (OC000 data, OC001 schema); retry the whole transaction' },
  '53400': { kind: 'rate-limited', meaning: 'connection rate exceeded (100/s, burst 1,000 per cluster)' },
  '53300': { kind: 'too-many-connections', meaning: 'too many open connections (10,000 per cluster)' },
  '54000': { kind: 'limit-exceeded', meaning: 'a transaction limit was exceeded (300 s, 3,000 modified rows, 10 MiB)' },
  '0A000': { kind: 'unsupported', meaning: 'feature not supported by Aurora DSQL' },
  '25P02': { kind: 'transaction-aborted', meaning: 'the transaction is aborted; only ROLLBACK ends it' },
  '28000': { kind: 'access-denied', meaning: 'invalid authorization' },
  '28P01': { kind: 'access-denied', meaning: 'authentication failed' },
  '42501': { kind: 'access-denied', meaning: 'insufficient privilege (missing GRANT)' },
  '57P01': { kind: 'transient', meaning: 'the server closed the connection' },
  '57P02': { kind: 'transient', meaning: 'crash shutdown' },
  '57P03': { kind: 'transient', meaning: 'cannot connect now' },
  '08': { kind: 'transient', meaning: 'connection exception' },
  '54': { kind: 'limit-exceeded', meaning: 'program limit exceeded' },
});

const HINTS: Record<ErrorKind, string> = {
  'occ-conflict': 'Another transaction changed the same rows (or the schema) first. Retry the whole transaction (withRetry / transaction() do this).',
  transient: 'A temporary failure. Retry the operation; a new connection will be opened if needed.',
  'access-denied':
    'Check the region of the token, the IAM permission (dsql:DbConnectAdmin for admin, dsql:DbConnect for other roles), that the credentials are valid and unexpired, and that the token was signed for this host.',
  'rate-limited': 'The cluster refused new connections (100/s). Back off and retry; lower the connection rate or reuse pooled connections.',
  'too-many-connections': 'The cluster has too many open connections. Close idle connections or lower the pool size, then retry.',
  'limit-exceeded': 'Split the work into smaller transactions (DSQL allows 3,000 modified rows, 10 MiB and 300 s per transaction).',
  unsupported: 'Aurora DSQL does not support this; see "Unsupported PostgreSQL features" in the DSQL documentation.',
  'transaction-aborted': 'An earlier statement of this transaction failed; roll back and start again.',
  'commit-outcome-unknown': 'The COMMIT may have been applied. Verify the data before retrying, or make the transaction idempotent.',
  config: 'Fix the connection options named in the message.',
  credentials: 'Check the AWS credentials available to this process (profile, environment, role).',
  other: 'See the error message and SQLSTATE.',
};

const RETRYABLE: ReadonlySet<ErrorKind> = new Set(['occ-conflict', 'transient', 'rate-limited', 'too-many-connections']);

const TRANSIENT_CREDENTIALS_HINT =
  'The AWS credential source did not answer (network error, timeout, throttling or a 5xx from IMDS, the container endpoint or STS). This usually passes: retry (connectWithRetry and the adapters do, within their connect deadline); if it persists, check the instance/task role and the credential endpoint.';

/** A credentials failure that passes by itself (`DsqlCredentialsError.transient`). */
function isTransientCredentialsNode(f: ErrorFields): boolean {
  return isDsqlError(f.node, 'credentials-unavailable') && (f.node as { transient?: unknown }).transient === true;
}

const OCC_CODE = /\bOC00[01]\b/;
const ACCESS_DENIED = /access denied|wrong user to action mapping|not authorized to perform|password authentication failed|signature expired|security token included in the request is (?:invalid|expired)/i;
const RATE_EXCEEDED = /rate exceeded/i;
const TOO_MANY = /too many (?:open )?connections|too many clients/i;
const WAKING = /waking up cluster/i;
const SERVER_UNAVAILABLE = /server unavailable/i;
const LIMIT = /\blimit(?: of [^ ]+)? (?:[a-z0-9 ]+ )?exceeded|limit exceeded/i;
/** Socket-level codes (Node) that mean the connection failed or died. */
const SOCKET_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENETDOWN', 'EAI_AGAIN', 'ESOCKETTIMEDOUT', 'ERR_SOCKET_CLOSED', 'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END', 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC',
  // Postgres.js connection error codes.
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
]);
/** Messages drivers use for a dead or unreachable connection (node-postgres has no codes for them). */
const CONNECTION_MESSAGES =
  /connection terminated|connection (?:was )?closed|connection ended|server closed the connection|socket hang up|client has encountered a connection error|timeout expired|connection timeout|read ECONNRESET|write EPIPE|unexpectedly closed/i;

function isOccNode(f: ErrorFields): boolean {
  return (
    f.sqlstate === '40001' ||
    f.sqlstate === 'OC000' ||
    f.sqlstate === 'OC001' ||
    OCC_CODE.test(f.code ?? '') ||
    OCC_CODE.test(f.message) ||
    // Prisma: "Transaction failed due to a write conflict or a deadlock. Please retry your transaction".
    f.code === 'P2034'
  );
}

/**
 * True when this node says the connection failed or died (as opposed to a server's answer).
 * @internal
 */
export function isConnectionFailureNode(f: ErrorFields): boolean {
  if (isDsqlError(f.node, 'connection-lost')) return true;
  if (f.sqlstate !== undefined) return f.sqlstate.startsWith('08') || f.sqlstate.startsWith('57P');
  return (f.code !== undefined && SOCKET_CODES.has(f.code)) || CONNECTION_MESSAGES.test(f.message);
}

function kindOfNode(f: ErrorFields): ErrorKind | undefined {
  if (isOccNode(f)) return 'occ-conflict';
  const text = `${f.message} ${f.hint ?? ''}`;
  if (ACCESS_DENIED.test(text)) return 'access-denied';
  if (f.sqlstate === '53400' || RATE_EXCEEDED.test(f.message)) return 'rate-limited';
  if (f.sqlstate === '53300' || TOO_MANY.test(f.message)) return 'too-many-connections';
  if (WAKING.test(f.message) || (f.sqlstate === 'XX000' && SERVER_UNAVAILABLE.test(f.message))) return 'transient';
  if (f.sqlstate !== undefined) {
    const m = SQLSTATE_MEANINGS[f.sqlstate] ?? SQLSTATE_MEANINGS[f.sqlstate.slice(0, 2)];
    if (m) return m.kind;
  }
  if (f.sqlstate === undefined && LIMIT.test(f.message) && /transaction/i.test(f.message)) return 'limit-exceeded';
  if (isConnectionFailureNode(f)) return 'transient';
  return undefined;
}

const PRIORITY: readonly ErrorKind[] = [
  'commit-outcome-unknown',
  'occ-conflict',
  'access-denied',
  'rate-limited',
  'too-many-connections',
  'limit-exceeded',
  'unsupported',
  'transaction-aborted',
  'transient',
  'config',
  'credentials',
];

function dsqlKind(f: ErrorFields): ErrorKind | undefined {
  if (!isDsqlError(f.node)) return undefined;
  switch (f.node.code) {
    case 'commit-outcome-unknown':
      return 'commit-outcome-unknown';
    case 'invalid-config':
      return 'config';
    case 'credentials-unavailable':
    case 'token-generation-failed':
      return 'credentials';
    case 'unsupported-feature':
      return 'unsupported';
    case 'connection-lost':
      return 'transient';
    default:
      return undefined;
  }
}

/**
 * Classifies any error (pg, Postgres.js, Node socket errors, `DsqlError`s, wrapped in
 * `cause` chains or `AggregateError`s) into an {@link ErrorKind} with a next step. This is
 * the one place that maps SQLSTATEs and DSQL messages to meanings.
 *
 * @example
 * const { kind, hint } = classifyError(err);
 * if (kind === 'limit-exceeded') console.error(hint);
 */
export function classifyError(err: unknown): ErrorClassification {
  const chain = errorChain(err);
  // A credentials error decides for what it wraps: the provider's ECONNREFUSED or "not
  // authorized to perform sts:AssumeRole" is about the credential source, not the database
  // connection (its transient subset is `DsqlCredentialsError.transient`).
  const wrappedByCredentials = new Set<object>();
  for (const f of chain) {
    if (dsqlKind(f) === 'credentials') for (const inner of errorChain((f.node as { cause?: unknown }).cause)) wrappedByCredentials.add(inner.node);
  }
  let best: { kind: ErrorKind; node: ErrorFields } | undefined;
  for (const f of chain) {
    if (wrappedByCredentials.has(f.node)) continue;
    const kind = dsqlKind(f) ?? kindOfNode(f);
    if (kind === undefined) continue;
    if (best === undefined || PRIORITY.indexOf(kind) < PRIORITY.indexOf(best.kind)) best = { kind, node: f };
  }
  const kind = best?.kind ?? 'other';
  const node = best?.node ?? chain[0];
  const transientCredentials = kind === 'credentials' && node !== undefined && isTransientCredentialsNode(node);
  // A DsqlError's hint is ours (already redacted); any other hint came from the server.
  const extraHint = node?.hint ? (isDsqlError(node.node) ? ` ${node.hint}` : ` Server hint: ${redact(node.hint)}`) : '';
  return Object.freeze({
    kind,
    retryable: RETRYABLE.has(kind) || transientCredentials,
    // The deciding node's SQLSTATE; else what the server answered, however deeply wrapped (a
    // DsqlConnectError explaining a refused connection says so on its `cause`, pg's or Postgres.js's).
    sqlstate: node?.sqlstate ?? chain.find((f) => f.sqlstate !== undefined)?.sqlstate,
    message: redact(node?.message ?? String(err)),
    hint: (transientCredentials ? TRANSIENT_CREDENTIALS_HINT : HINTS[kind]) + extraHint,
  });
}

/**
 * True for an optimistic-concurrency conflict: SQLSTATE `40001`, or `OC000`/`OC001` as
 * the code or inside the message, anywhere in the `cause` chain or an `AggregateError` —
 * also as ORMs wrap it (TypeORM's `QueryFailedError`, Drizzle's `DrizzleQueryError`, Prisma's
 * `DriverAdapterError` with `cause.originalCode` and its `P2034` with `meta.driverAdapterError`).
 * Such a transaction can be retried as a whole.
 *
 * @example
 * if (isOccError(err)) return retry();
 */
export function isOccError(err: unknown): boolean {
  if (errorChain(err).some((f) => isDsqlError(f.node, 'commit-outcome-unknown'))) return false;
  return errorChain(err).some(isOccNode);
}

/**
 * True for failures that go away by themselves: connection reset/refused/timeout, SQLSTATE
 * class 08, 57P01, `XX000 server unavailable`, 53400 rate exceeded, 53300 too many
 * connections, "waking up cluster" — and a `DsqlCredentialsError` whose `transient` is true
 * (the credential endpoint was unreachable, timed out, throttled or answered 5xx; its kind
 * stays `credentials`). False for access denied, limit errors (54000), a missing or
 * misconfigured credential source and anything else that would fail the same way again — and
 * for a lost COMMIT, whose outcome is unknown. `connectWithRetry` retries exactly these.
 *
 * @example
 * if (isTransientError(err)) await sleep(100).then(connect);
 */
export function isTransientError(err: unknown): boolean {
  const { kind, retryable } = classifyError(err);
  return retryable && kind !== 'occ-conflict';
}

/**
 * True when the error says the connection is gone or never came up (socket errors,
 * "Connection terminated", SQLSTATE 08xxx/57P0x), rather than the server answering a
 * statement with an error. Used to decide that a COMMIT's outcome is unknown.
 *
 * @example
 * if (isConnectionLoss(err)) pool.destroy(client);
 */
export function isConnectionLoss(err: unknown): boolean {
  return errorChain(err).some(isConnectionFailureNode);
}
