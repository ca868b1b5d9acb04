import { AsyncLocalStorage } from 'node:async_hooks';
import { DsqlUnsupportedError } from '../errors/errors.js';
import { processWide } from '../shared-registry.js';

/**
 * One run of a transaction callback: its owner (a pool, a `sql`), whether it is still running,
 * and the nearest callback (of another owner) that was open around it when it started.
 */
interface ScopeFrame {
  readonly owner: object;
  /** False once the callback settled: a timer or handler it scheduled may run later, outside it. */
  open: boolean;
  readonly outer: ScopeFrame | undefined;
}

/** Process-wide: one store and one count for every copy of @dsql/core (ESM, CJS, duplicate installs). */
interface ScopeState {
  readonly frames: AsyncLocalStorage<ScopeFrame>;
  /** Callbacks running anywhere in the process; the store is enabled only while this is above 0. */
  open: number;
}

// On Node 20/22 an enabled AsyncLocalStorage installs promise hooks that tax every promise of the
// process (a promise-heavy loop ran at about a third of its speed on Node 20: packages/pg/bench/nested-guard.mjs),
// so the store is enabled only while some callback runs and disabled again when the last one
// settles: with no transaction callback running, nothing is propagated and queries pay nothing.
// Node 24's AsyncContextFrame-based storage has no such cost, and its disable() only clears the
// calling context: work a callback scheduled still sees its frame after the last scope settled.
// Correctness never rests on disable(): a frame is `open` only while its callback runs, and
// openFrame() skips closed ones. disable() stays for the async_hooks storage (Node 20/22, or 24+
// with --no-async-context-frame), where it is what removes the hooks.
// The "/v1" in the key is the layout of ScopeState and ScopeFrame: change it when they change.
let state: ScopeState | undefined;
function shared(): ScopeState {
  return (state ??= processWide<ScopeState>('@dsql/core/transaction-scope/v1', () => ({ frames: new AsyncLocalStorage(), open: 0 })));
}

/** The innermost open frame around the caller, if any. */
function openFrame(s: ScopeState): ScopeFrame | undefined {
  let frame = s.frames.getStore();
  while (frame !== undefined && !frame.open) frame = frame.outer;
  return frame;
}

/**
 * How an adapter names its transaction callbacks and their owner in the nested-transaction error:
 * `"<called> was called inside <callback> of the same <owner>. …"`.
 *
 * @example
 * const wording: NestedTransactionWording = { callback: 'a transaction() callback', owner: 'pool' };
 */
export interface NestedTransactionWording {
  /** The callback, with its article: `'a transaction() callback'`. */
  readonly callback: string;
  /** The owner's name, without an article: `'pool'`, `'sql'`. */
  readonly owner: string;
  /** Said after "while the outer one holds its own", after a dash: why waiting is worse with this driver. */
  readonly wait?: string;
}

/**
 * Runs `fn` (a transaction callback) as an open transaction scope of `owner`, so that
 * {@link isInTransactionScope}, {@link nestedTransactionError} and {@link assertNoOpenTransaction}
 * recognise calls made from inside it (through `await`s, timers and handlers it starts). The scope
 * closes when `fn` settles: work it scheduled that runs later is no longer inside it.
 *
 * `owner` is any object identifying what the transactions run on — the pool (and the clients it
 * hands out), or the `sql` — compared by identity. Scopes nest: a callback of owner B run inside
 * one of owner A is inside both, so A → B → A is still recognised as nested in A.
 *
 * Cost: the process-wide `AsyncLocalStorage` is enabled only while at least one scope is open, in
 * any owner, adapter or copy of @dsql/core; when the last one settles it is disabled, so a process
 * with no transaction callback running pays nothing for it. (On Node 24+, whose storage costs
 * nothing when idle, work scheduled inside a settled callback may still carry its closed scope,
 * which no function here counts.)
 *
 * @example
 * const value = await runInTransactionScope(pool, () => fn(client));
 */
export async function runInTransactionScope<T>(owner: object, fn: () => Promise<T> | T): Promise<T> {
  const s = shared();
  const frame: ScopeFrame = { owner, open: true, outer: s.open > 0 ? openFrame(s) : undefined };
  s.open++;
  try {
    return await s.frames.run(frame, fn);
  } finally {
    frame.open = false;
    if (--s.open === 0) s.frames.disable();
  }
}

/**
 * Whether the caller runs inside an open transaction scope of `owner` (see
 * {@link runInTransactionScope}), directly or under scopes of other owners.
 *
 * @example
 * if (isInTransactionScope(pool)) console.warn('this would be a second, independent transaction');
 */
export function isInTransactionScope(owner: object): boolean {
  const s = shared();
  if (s.open === 0) return false;
  for (let frame = openFrame(s); frame !== undefined; frame = frame.outer) {
    if (frame.open && frame.owner === owner) return true;
  }
  return false;
}

/**
 * The `DsqlUnsupportedError` (feature `'nested transactions'`) for `called` — the method the
 * application called, e.g. `'pool.transaction()'` — when it runs inside an open transaction scope
 * of `owner`, else `undefined`. Such an "inner" transaction would run on another connection,
 * commit or fail independently of the outer one, run again whenever the outer one is retried,
 * and wait for a connection while the outer one holds its own (forever when every connection is
 * held by an outer transaction). Aurora DSQL has no savepoints, so it cannot be nested for real.
 *
 * @example
 * const nested = nestedTransactionError(sql, 'sql.begin()', { callback: 'a transaction callback', owner: 'sql' });
 * if (nested) return Promise.reject(nested);
 */
export function nestedTransactionError(owner: object, called: string, wording: NestedTransactionWording): DsqlUnsupportedError | undefined {
  if (!isInTransactionScope(owner)) return undefined;
  return new DsqlUnsupportedError(
    'nested transactions',
    `${called} was called inside ${wording.callback} of the same ${wording.owner}. It would not be part of the open ` +
      'transaction: it would run as a separate transaction on another connection, commit or fail on its own, run again ' +
      'whenever the outer transaction is retried, and wait for a free connection while the outer one holds its own' +
      (wording.wait === undefined ? '' : ` — ${wording.wait}`) +
      ' (Aurora DSQL has no nested transactions or savepoints). Use the `tx` passed to the callback instead, or start ' +
      'the second transaction after the first one has finished.',
  );
}

/**
 * Throws {@link nestedTransactionError}'s error when the caller runs inside an open transaction
 * scope of `owner`; call it first thing, before a connection is checked out or anything is sent.
 *
 * @example
 * assertNoOpenTransaction(pool, 'pool.transaction()', { callback: 'a transaction() callback', owner: 'pool' });
 */
export function assertNoOpenTransaction(owner: object, called: string, wording: NestedTransactionWording): void {
  const nested = nestedTransactionError(owner, called, wording);
  if (nested !== undefined) throw nested;
}
