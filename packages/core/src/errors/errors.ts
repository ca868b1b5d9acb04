import { inspect } from 'node:util';
import { redact } from './redact.js';

/**
 * Machine-readable code of every {@link DsqlError}. Stable: switch on it, not on messages.
 *
 * @example
 * const code: DsqlErrorCode = 'invalid-config';
 */
export type DsqlErrorCode =
  | 'invalid-config'
  | 'credentials-unavailable'
  | 'token-generation-failed'
  | 'commit-outcome-unknown'
  | 'transaction-rolled-back'
  | 'unsupported-feature'
  | 'connect-failed'
  | 'timeout'
  | 'aborted'
  | 'connection-lost';

/** Brand shared by every copy of this package (duplicate installs agree on `Symbol.for`). */
const DSQL_ERROR = Symbol.for('@dsql/core/DsqlError');

/**
 * Options accepted by {@link DsqlError} and its subclasses.
 *
 * @example
 * new DsqlError('connect-failed', 'refused', { cause: err, hint: 'check the region' } satisfies DsqlErrorOptions);
 */
export interface DsqlErrorOptions {
  /** The underlying error. Its message is never copied unredacted. */
  cause?: unknown;
  /** What to do next, for a human. */
  hint?: string;
}

/**
 * Base class of every error thrown by `@dsql/*`. `code` says what went wrong; `hint` what to do.
 * Messages and hints are passed through {@link redact}, and `util.inspect` output is redacted
 * too, so a token or password never leaks through an error. Recognise errors with
 * {@link isDsqlError} rather than `instanceof` (works across duplicate installs).
 *
 * @example
 * try { resolveConfig({ port: 0, host: 'localhost', region: 'us-east-1' }); }
 * catch (err) { if (isDsqlError(err, 'invalid-config')) console.error(err.message); }
 */
export class DsqlError extends Error {
  override name = 'DsqlError';
  readonly code: DsqlErrorCode;
  readonly hint: string | undefined;

  constructor(code: DsqlErrorCode, message: string, options: DsqlErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint === undefined ? undefined : redact(options.hint);
    Object.defineProperty(this, DSQL_ERROR, { value: true });
  }

  /** Inspection is redacted as a whole, including the cause chain and the stack. */
  [inspect.custom](depth: number, options: object): string {
    return redact(inspect(this, { ...options, depth, customInspect: false }));
  }
}

/**
 * A configuration value is invalid. `field` names it; the message shows the (redacted) value
 * and what is accepted.
 *
 * @example
 * new DsqlConfigError('port', 0, 'an integer from 1 to 65535')
 */
export class DsqlConfigError extends DsqlError {
  override name = 'DsqlConfigError';
  readonly field: string;

  constructor(field: string, given: string, accepted: string, options: DsqlErrorOptions = {}) {
    super('invalid-config', `Invalid ${field}: got ${given}; expected ${accepted}.`, options);
    this.field = field;
  }
}

/**
 * Options of {@link DsqlCredentialsError}.
 *
 * @example
 * new DsqlCredentialsError('profile "dev"', 'IMDS timed out', { cause: err, transient: true } satisfies DsqlCredentialsErrorOptions);
 */
export interface DsqlCredentialsErrorOptions extends DsqlErrorOptions {
  /** The credential endpoint was unreachable, timed out, throttled or answered 5xx. Default false. */
  transient?: boolean;
}

/**
 * AWS credentials could not be resolved. `source` names the provider that failed
 * (explicit credentials, profile "x", default chain…); no secret value is ever included.
 *
 * `transient` is true when the provider's failure passes by itself (network error, timeout,
 * throttling or a 5xx from the credential endpoint — IMDS, the container endpoint, STS):
 * `isTransientError` accepts such an error, so `connectWithRetry` (and every adapter's
 * connect) retries it within its deadline, while `classifyError` still reports kind
 * `credentials` (with `retryable: true`). A missing or misconfigured source (no credentials
 * in the chain, unknown profile, expired SSO session, access denied) has `transient: false`
 * and fails at once.
 *
 * @example
 * if (isDsqlError(err, 'credentials-unavailable') && !(err as DsqlCredentialsError).transient) console.error(err.hint);
 */
export class DsqlCredentialsError extends DsqlError {
  override name = 'DsqlCredentialsError';
  readonly source: string;
  readonly transient: boolean;

  constructor(source: string, message: string, options: DsqlCredentialsErrorOptions = {}) {
    const { transient, ...rest } = options;
    super('credentials-unavailable', message, rest);
    this.source = source;
    this.transient = transient === true;
  }
}

/**
 * Signing the IAM authentication token failed.
 *
 * @example
 * if (isDsqlError(err, 'token-generation-failed')) console.error(err.message);
 */
export class DsqlTokenError extends DsqlError {
  override name = 'DsqlTokenError';
  constructor(message: string, options: DsqlErrorOptions = {}) {
    super('token-generation-failed', message, options);
  }
}

/**
 * The connection was lost after COMMIT was sent and before its answer arrived: the
 * transaction may or may not have been committed. Never retried automatically; check
 * the data (or make the transaction idempotent) before trying again. `cause` holds the
 * connection error.
 *
 * @example
 * catch (err) { if (isCommitOutcomeUnknownError(err)) await reconcile(); }
 */
export class CommitOutcomeUnknownError extends DsqlError {
  override name = 'CommitOutcomeUnknownError';
  constructor(options: DsqlErrorOptions = {}) {
    super(
      'commit-outcome-unknown',
      'The connection was lost while COMMIT was in flight; the transaction may or may not have been committed.',
      {
        hint: 'Do not blindly retry: check whether the changes are present, or make the transaction idempotent.',
        ...options,
      },
    );
  }
}

/**
 * COMMIT answered ROLLBACK: the transaction had already failed (an error was swallowed
 * inside the callback), so nothing was committed.
 *
 * @example
 * if (isDsqlError(err, 'transaction-rolled-back')) console.error('an error was swallowed in the callback');
 */
export class DsqlTransactionRolledBackError extends DsqlError {
  override name = 'DsqlTransactionRolledBackError';
  constructor(options: DsqlErrorOptions = {}) {
    super(
      'transaction-rolled-back',
      'COMMIT answered ROLLBACK: a statement inside the transaction failed and its error was caught, so nothing was committed.',
      { hint: 'Let errors inside the transaction callback propagate, or handle them outside it.', ...options },
    );
  }
}

/**
 * A feature that Aurora DSQL does not offer was requested (savepoints, nested
 * transactions, isolation levels other than repeatable read, …). `feature` names it.
 *
 * @example
 * throw new DsqlUnsupportedError('savepoints', 'Aurora DSQL has no SAVEPOINT; use one flat transaction.');
 */
export class DsqlUnsupportedError extends DsqlError {
  override name = 'DsqlUnsupportedError';
  readonly feature: string;
  constructor(feature: string, message: string, options: DsqlErrorOptions = {}) {
    super('unsupported-feature', message, options);
    this.feature = feature;
  }
}

/**
 * Opening a connection failed; `kind` classifies why and `hint` says what to check next.
 * Built by `describeConnectError`.
 *
 * @example
 * if (isDsqlError(err, 'connect-failed')) console.error(err.message, err.hint);
 */
export class DsqlConnectError extends DsqlError {
  override name = 'DsqlConnectError';
  readonly kind: string;
  constructor(kind: string, message: string, options: DsqlErrorOptions = {}) {
    super('connect-failed', message, options);
    this.kind = kind;
  }
}

/**
 * A wait ran out of time (connection rate limiter, connect deadline).
 *
 * @example
 * if (isDsqlError(err, 'timeout')) console.error(err.message);
 */
export class DsqlTimeoutError extends DsqlError {
  override name = 'DsqlTimeoutError';
  constructor(message: string, options: DsqlErrorOptions = {}) {
    super('timeout', message, options);
  }
}

/**
 * A wait was cancelled through an `AbortSignal`; `cause` is the signal's reason.
 *
 * @example
 * if (isDsqlError(err, 'aborted')) return;
 */
export class DsqlAbortError extends DsqlError {
  override name = 'DsqlAbortError';
  constructor(message: string, options: DsqlErrorOptions = {}) {
    super('aborted', message, options);
  }
}

/**
 * A statement was sent on a connection that is already gone: the server or the network closed
 * it earlier (DSQL's 60-minute connection age, a failover, a dropped idle connection), and the
 * statement never reached the server. `cause` is the error that reported the loss. Classified as
 * `transient`: the same work on another connection can succeed. A pool replaces such a
 * connection by itself; a standalone client cannot reconnect, so create a new one.
 *
 * @example
 * catch (err) { if (isDsqlError(err, 'connection-lost')) client = await reconnect(); }
 */
export class DsqlConnectionLostError extends DsqlError {
  override name = 'DsqlConnectionLostError';
  constructor(message: string, options: DsqlErrorOptions = {}) {
    super('connection-lost', message, options);
  }
}

const NAMES = new Set([
  'DsqlError',
  'DsqlConfigError',
  'DsqlCredentialsError',
  'DsqlTokenError',
  'CommitOutcomeUnknownError',
  'DsqlTransactionRolledBackError',
  'DsqlUnsupportedError',
  'DsqlConnectError',
  'DsqlTimeoutError',
  'DsqlAbortError',
  'DsqlConnectionLostError',
]);

/**
 * True when `err` is a {@link DsqlError} (from any copy of this package), optionally with
 * the given `code`. Checks a `Symbol.for` brand, or `name` + `code`, never `instanceof`.
 *
 * @example
 * if (isDsqlError(err, 'invalid-config')) showUsage();
 */
export function isDsqlError(err: unknown, code?: DsqlErrorCode): err is DsqlError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown; [DSQL_ERROR]?: unknown };
  const branded = e[DSQL_ERROR] === true || (typeof e.name === 'string' && NAMES.has(e.name) && typeof e.code === 'string');
  return branded && (code === undefined || e.code === code);
}

/**
 * True when `err` is a {@link CommitOutcomeUnknownError} from any copy of this package.
 *
 * @example
 * if (isCommitOutcomeUnknownError(err)) await reconcile();
 */
export function isCommitOutcomeUnknownError(err: unknown): err is CommitOutcomeUnknownError {
  return isDsqlError(err, 'commit-outcome-unknown');
}
