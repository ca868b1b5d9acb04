/**
 * Nested transactions through Kysely fail fast: a transaction started on the *outer* database
 * (or on the pool / `sql` underneath) from inside a running `transaction()` callback would run on
 * another connection, commit or fail on its own, run again when the outer callback is retried, and
 * wait for a connection the outer transaction may be holding (forever with `max: 1`). The check is
 * @dsql/core's process-wide transaction scope, with the pool or `sql` as owner, so it works
 * across APIs: this package, `pool.transaction()` of @dsql/pg, `sql.begin()` of @dsql/postgres.
 */
import { nestedTransactionError, runInTransactionScope, type DsqlUnsupportedError, type NestedTransactionWording } from '@dsql/core';
import type { SessionSource } from './session.js';

/** Who may be nested: the source's owner when the check is on, else nothing. */
export interface NestGuard {
  /** The pool or `sql` whose scopes are checked and entered, or `undefined` (check off, or not created yet). */
  owner(): object | undefined;
  /** How messages name the owner. */
  readonly ownerName: string;
}

/**
 * The guard of a source: its owner, unless `detect` is `false` (`detectNestedTransactions`).
 *
 * @example
 * const guard = nestGuard(pgSource(pool), true);
 */
export function nestGuard(source: SessionSource, detect: boolean): NestGuard {
  return { owner: () => (detect ? source.owner() : undefined), ownerName: source.ownerName };
}

function wording(guard: NestGuard): NestedTransactionWording {
  return { callback: 'a transaction callback', owner: guard.ownerName };
}

/**
 * The `DsqlUnsupportedError` for `called` when it runs inside an open transaction scope of the
 * guard's owner, else `undefined`. Message: use the `trx` passed to the callback instead.
 *
 * @example
 * const nested = nestedError(guard, 'db.transaction()');
 * if (nested) throw nested;
 */
export function nestedError(guard: NestGuard, called: string): DsqlUnsupportedError | undefined {
  const owner = guard.owner();
  return owner === undefined ? undefined : nestedTransactionError(owner, called, wording(guard));
}

/**
 * Runs a transaction callback as an open scope of the guard's owner. A `DsqlPool` keys its own
 * scopes by itself, so `pool.transaction()` inside the callback is refused by the same scope.
 *
 * @example
 * await runInScope(guard, () => fn(trx));
 */
export function runInScope<T>(guard: NestGuard, fn: () => Promise<T>): Promise<T> {
  const owner = guard.owner();
  return owner === undefined ? fn() : runInTransactionScope(owner, fn);
}
