import { DsqlConfigError, type DsqlUnsupportedError } from '../errors/errors.js';
import { describeValue } from '../errors/redact.js';
import { nestedTransactionError, runInTransactionScope, type NestedTransactionWording } from './scope.js';

/**
 * The `detectNestedTransactions` option, validated: `true` (default) or `false`, else a
 * `DsqlConfigError` naming the field and the value given.
 *
 * @example
 * const detect = resolveDetectNestedTransactions(options.detectNestedTransactions); // true when undefined
 */
export function resolveDetectNestedTransactions(value: unknown, fallback = true): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    // A number says what it is too ("1 (a number)"): a 1/0 flag is the usual mistake here.
    const given = typeof value === 'number' ? `${describeValue(value)} (a number)` : describeValue(value);
    throw new DsqlConfigError('detectNestedTransactions', given, 'true or false');
  }
  return value;
}

/**
 * The nested-transaction check of one owner (a pool, an `sql`, a client), as every adapter uses
 * it: {@link refusal} before anything is checked out or sent, {@link run} around each transaction
 * callback. The check itself and its contract are {@link nestedTransactionError}'s and
 * {@link runInTransactionScope}'s. An owner of `undefined` (or a function returning it: an owner
 * known only on first use) turns the check off (`detectNestedTransactions: false`).
 *
 * @example
 * const nesting = new NestedTransactionGuard(pool, { callback: 'a transaction() callback', owner: 'pool' });
 * nesting.assert('pool.transaction()');
 * await nesting.run(() => fn(client));
 */
export class NestedTransactionGuard {
  #find: () => object | undefined;
  readonly wording: NestedTransactionWording;

  constructor(owner: object | undefined, wording: NestedTransactionWording) {
    this.#find = () => owner;
    this.wording = wording;
  }

  /**
   * A guard whose owner is known only later (a pool created on first use): `find` returns it,
   * or `undefined` while there is none (nothing to check yet).
   *
   * @example
   * const nesting = NestedTransactionGuard.lazy(() => source.owner(), { callback: 'a transaction callback', owner: 'pool' });
   */
  static lazy(find: () => object | undefined, wording: NestedTransactionWording): NestedTransactionGuard {
    const guard = new NestedTransactionGuard(undefined, wording);
    guard.#find = find;
    return guard;
  }

  /** The owner whose scopes are checked and entered, or `undefined` (check off, or not known yet). */
  owner(): object | undefined {
    return this.#find();
  }

  /** The `DsqlUnsupportedError` for `called` when it runs inside an open transaction of the owner, else `undefined`. */
  refusal(called: string): DsqlUnsupportedError | undefined {
    const owner = this.#find();
    return owner === undefined ? undefined : nestedTransactionError(owner, called, this.wording);
  }

  /** Throws {@link refusal}'s error, if any. */
  assert(called: string): void {
    const err = this.refusal(called);
    if (err !== undefined) throw err;
  }

  /**
   * Runs a transaction callback (synchronously started, as the driver called it) as an open
   * transaction scope of the owner, or plainly when the check is off.
   */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const owner = this.#find();
    if (owner !== undefined) return runInTransactionScope(owner, fn);
    // Not `async`: no extra promise per transaction on the path where the check is off.
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
