/**
 * The error funnel: the one place where an error leaving a `@dsql/*` adapter gains `err.dsql`.
 * Every adapter calls {@link classifyInPlace} at each of its error exits (a query, a connect, a
 * transaction, a stream) — the way Prisma's driver adapters pass every driver error through one
 * `convertDriverError` — so the same classification reaches the application the same way,
 * whichever driver raised the error. What an error *means* is decided in `classifyError`
 * (sqlstate.ts); this module only attaches it.
 */
import { describeConnectError, type ConnectErrorContext } from '../connect/describe-connect-error.js';
import { isDsqlError } from './errors.js';
import { classifyError, type ErrorClassification } from './sqlstate.js';

/**
 * `err.dsql`: what an error means on Aurora DSQL. The contract, the same for every adapter
 * (`@dsql/pg`, `@dsql/postgres`, `@dsql/kysely`, `@dsql/drizzle`):
 *
 * - `kind` — one {@link ErrorKind}-style literal: `'occ-conflict'`, `'transient'`,
 *   `'access-denied'`, `'rate-limited'`, `'too-many-connections'`, `'limit-exceeded'`,
 *   `'unsupported'`, `'transaction-aborted'`, `'commit-outcome-unknown'`, `'config'`,
 *   `'credentials'` or `'other'`;
 * - `retryable` — true when trying again (a new transaction, a new connection) can succeed as is;
 * - `sqlstate` — the deciding server error's SQLSTATE, when there is one;
 * - `message` — the deciding message, redacted (no token, password or access key survives);
 * - `hint` — what to do next, for a human (for a refused connection: what to check for *this*
 *   connection — Region, DbConnect vs DbConnectAdmin, credentials, token host).
 *
 * The object is frozen. It is an own, enumerable property of the error the adapter hands out
 * (the driver's own error keeps its class and every field the driver gave it), added on error
 * paths only. It is the value of `classifyError(err)` when the error left the adapter.
 *
 * @example
 * try { await pool.query(sql); } catch (err) {
 *   const { kind, retryable, hint } = (err as ClassifiedError).dsql;
 *   if (kind === 'limit-exceeded') console.error(hint);
 * }
 */
export type DsqlClassification = ErrorClassification;

/**
 * An error as a `@dsql/*` adapter hands it out: the driver's own error (pg's `DatabaseError`,
 * Postgres.js's `PostgresError`, a `DsqlError`, …) plus {@link DsqlClassification `dsql`}.
 *
 * @example
 * catch (e) { const err = e as ClassifiedError<pg.DatabaseError>; if (err.dsql.retryable) retry(); }
 */
export type ClassifiedError<E = Error> = E & { dsql: DsqlClassification };

function hasOwnDsql(err: object): boolean {
  return Object.prototype.hasOwnProperty.call(err, 'dsql');
}

/**
 * The funnel every adapter calls at its error exits: adds `dsql` ({@link DsqlClassification})
 * to `err` in place and returns `err` — same object, same class, same fields. An error that
 * already carries `dsql` keeps it (its meaning was decided where it arose), unless `connect` is
 * given: then the error is a refused connection and its `dsql.hint` becomes core's
 * `describeConnectError` next step for that connection. Non-objects and errors that cannot
 * take a property (frozen) are returned unchanged: the funnel never throws.
 *
 * @example
 * try { return await driver.query(text); } catch (err) { throw classifyInPlace(err); }
 * // on a refused connection:
 * catch (err) { throw classifyInPlace(err, { host, tokenHost, region, user, admin }); }
 */
export function classifyInPlace<E>(err: E, connect?: ConnectErrorContext): E {
  if (typeof err !== 'object' || err === null) return err;
  // Adapters call this from driver callbacks and diagnostics_channel subscribers, where a throw
  // would end the process: whatever goes wrong here, the error is handed on as it is.
  try {
    if (connect === undefined && hasOwnDsql(err)) return err;
    let info = classifyError(err);
    if (connect !== undefined) {
      const described = describeConnectError(err, connect);
      if (described !== err && isDsqlError(described) && described.hint) info = Object.freeze({ ...info, hint: described.hint });
    }
    Object.defineProperty(err, 'dsql', { value: info, enumerable: true, configurable: true, writable: true });
  } catch {
    // A frozen or sealed error, or a hostile getter: classifyError(err) still works on it.
  }
  return err;
}
