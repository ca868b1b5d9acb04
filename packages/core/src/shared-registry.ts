/**
 * The process-wide registries behind `TokenProvider.shared`, `sharedCredentialCache` and
 * `sharedConnectRateLimiter`, bounded so that they cannot grow for as long as the process lives.
 *
 * An entry is held strongly while a caller that looks it up again could still profit from it
 * (for `holdMs` after its last lookup, and for as long as `busy` says so), weakly afterwards.
 * While anyone else still holds the value (a pool keeps its token provider and rate limiter),
 * lookups keep returning it, so sharing never splits; once nobody does, the garbage collector
 * frees it and a `FinalizationRegistry` (or the next sweep) drops its entry. Sweeps run on
 * lookups, at most every {@link SWEEP_INTERVAL_MS} or when the registry has doubled in size,
 * so a lookup costs amortised O(1) and no timer keeps the process alive.
 *
 * Hand-written because no maintained library offers a TTL cache that falls back to `WeakRef`s
 * (lru-cache and friends evict outright, which would split sharing while a pool still holds
 * the evicted value).
 *
 * @internal
 */

/** Registries are swept on access at most this often (or when their size has doubled). */
export const SWEEP_INTERVAL_MS = 30_000;

let clock: () => number = Date.now;

/**
 * Test hook: the clock the shared registries (and the rate limiters they create) read.
 * `undefined` restores `Date.now`.
 *
 * @internal
 */
export function setSharedRegistryClock(now?: () => number): void {
  clock = now ?? Date.now;
}

/**
 * The current time of the shared registries ({@link setSharedRegistryClock}).
 *
 * @internal
 */
export function sharedRegistryNow(): number {
  return clock();
}

/**
 * How a {@link SharedRegistry} decides that it may stop holding a value strongly.
 *
 * @internal
 */
export interface HoldPolicy<V> {
  /** How long after its last lookup a value is held strongly. */
  holdMs(value: V): number;
  /** True while the value must stay held whatever the time of its last lookup (e.g. a refilling bucket). */
  busy?(value: V): boolean;
}

interface Slot<V extends object> {
  readonly ref: WeakRef<V>;
  strong: V | undefined;
  heldUntil: number;
}

/**
 * Counts of a {@link SharedRegistry}, for tests and diagnostics.
 *
 * @internal
 */
export interface SharedRegistryStats {
  /** Keys present (held strongly, or weakly and not yet collected). */
  readonly entries: number;
  /** Keys whose value is held strongly. */
  readonly held: number;
}

/**
 * A string-keyed registry of shared instances, bounded as described at the top of this module.
 *
 * @internal
 */
export class SharedRegistry<V extends object> {
  readonly #slots = new Map<string, Slot<V>>();
  readonly #policy: HoldPolicy<V>;
  readonly #finalizer = new FinalizationRegistry<string>((key) => {
    const slot = this.#slots.get(key);
    // The key may have been taken by a new value since the collected one was registered.
    if (slot !== undefined && slot.strong === undefined && slot.ref.deref() === undefined) this.#slots.delete(key);
  });
  #nextSweepAt: number;
  #sweepAtSize = 64;

  constructor(policy: HoldPolicy<V>) {
    this.#policy = policy;
    this.#nextSweepAt = clock() + SWEEP_INTERVAL_MS;
  }

  /** The live value for `key`, or a new one from `create` (which may throw; nothing is stored then). */
  get(key: string, create: () => V): V {
    const now = clock();
    if (now >= this.#nextSweepAt || this.#slots.size >= this.#sweepAtSize) this.sweep(now);
    const slot = this.#slots.get(key);
    const value = slot?.strong ?? slot?.ref.deref();
    if (slot !== undefined && value !== undefined) {
      slot.strong = value;
      slot.heldUntil = Math.max(slot.heldUntil, now + this.#policy.holdMs(value));
      return value;
    }
    const created = create();
    this.#slots.set(key, { ref: new WeakRef(created), strong: created, heldUntil: now + this.#policy.holdMs(created) });
    this.#finalizer.register(created, key);
    return created;
  }

  /** Releases values idle past their hold and forgets collected ones. */
  sweep(now = clock()): void {
    for (const [key, slot] of this.#slots) {
      if (slot.strong !== undefined && now >= slot.heldUntil && !(this.#policy.busy?.(slot.strong) ?? false)) slot.strong = undefined;
      if (slot.strong === undefined && slot.ref.deref() === undefined) this.#slots.delete(key);
    }
    this.#nextSweepAt = now + SWEEP_INTERVAL_MS;
    this.#sweepAtSize = Math.max(64, this.#slots.size * 2);
  }

  stats(): SharedRegistryStats {
    let held = 0;
    for (const slot of this.#slots.values()) if (slot.strong !== undefined) held++;
    return { entries: this.#slots.size, held };
  }

  clear(): void {
    this.#slots.clear();
  }
}

/**
 * The object stored on `globalThis` under `Symbol.for(name)`, created by `init` on first use, so
 * that duplicate installs of this package (or its ESM and CJS builds loaded side by side) share
 * one registry. `name` carries a layout version: an older install that stores a different shape
 * under the old name is left alone instead of being handed objects it does not understand.
 *
 * @internal
 */
export function processWide<T>(name: string, init: () => T): T {
  const key = Symbol.for(name);
  const g = globalThis as Record<symbol, unknown>;
  if (!(key in g)) Object.defineProperty(g, key, { value: init(), configurable: true, enumerable: false, writable: false });
  return g[key] as T;
}
