import { classifyError, type ErrorClassification } from '@dsql/core';

/**
 * `err.dsql` on errors that passed through `@dsql/pg`: what the error means on DSQL.
 *
 * @example
 * const { kind, retryable, hint }: DsqlClassification = (err as ClassifiedError).dsql;
 */
export type DsqlClassification = ErrorClassification;

/**
 * An error as `@dsql/pg` hands it out: pg's own error (e.g. `DatabaseError`) plus `dsql`.
 *
 * @example
 * catch (e) { const err = e as ClassifiedError<pg.DatabaseError>; if (err.dsql.kind === 'limit-exceeded') split(); }
 */
export type ClassifiedError<E = Error> = E & { dsql: DsqlClassification };

/**
 * Adds `dsql` (`{ kind, retryable, sqlstate, message, hint }`, see `classifyError` in
 * `@dsql/core`) to `err` in place and returns it. The error keeps its class and every field
 * pg gave it (`code`, `detail`, `hint`, …). Runs on the error path only.
 *
 * @example
 * client.connection.on('errorMessage', classifyInPlace);
 */
export function classifyInPlace<E>(err: E): E {
  if (typeof err === 'object' && err !== null && !('dsql' in err)) {
    Object.defineProperty(err, 'dsql', {
      value: classifyError(err),
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return err;
}
