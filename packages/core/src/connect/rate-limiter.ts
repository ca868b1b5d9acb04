import { DsqlAbortError, DsqlConfigError, DsqlTimeoutError } from '../errors/errors.js';
import { describeValue, redact } from '../errors/redact.js';
import { processWide, SharedRegistry, sharedRegistryNow } from '../shared-registry.js';
import { sleep as realSleep, type Sleep } from '../timers.js';

/**
 * Cross-copy protocol between the shared registry and its limiters: the registry lives on
 * `globalThis`, so it may hold a limiter built by another copy of this package (its ESM and CJS
 * builds side by side), whose `#private` fields this copy cannot read. Symbol-keyed methods can.
 */
const TIGHTEN = Symbol.for('@dsql/core/connect-rate-limiter/tighten');
const BUCKET_FULL = Symbol.for('@dsql/core/connect-rate-limiter/bucket-full');

/**
 * Options of {@link ConnectRateLimiter}.
 *
 * @example
 * new ConnectRateLimiter({ perSecond: 50, burst: 200 } satisfies ConnectRateLimitOptions);
 */
export interface ConnectRateLimitOptions {
  /** Tokens added per second (steady connection rate). Default 100, DSQL's per-cluster quota. */
  perSecond?: number;
  /** Bucket size (connections that may open at once). Default 1,000, DSQL's burst quota. */
  burst?: number;
  /** Injectable clock (milliseconds), for tests. */
  now?: () => number;
  /** Injectable delay, for tests. */
  sleep?: Sleep;
}

/**
 * Options of {@link ConnectRateLimiter.acquire}.
 *
 * @example
 * await limiter.acquire({ timeoutMs: 5000 } satisfies AcquireOptions);
 */
export interface AcquireOptions {
  /** Cancels the wait (rejects with a `DsqlAbortError`). */
  signal?: AbortSignal;
  /** Longest acceptable wait; when the wait would be longer, rejects at once with a `DsqlTimeoutError`. */
  timeoutMs?: number;
}

/**
 * Counters of a {@link ConnectRateLimiter}.
 *
 * @example
 * const { delayed }: ConnectRateLimiterStats = limiter.stats();
 */
export interface ConnectRateLimiterStats {
  /** Acquisitions granted without waiting. */
  readonly immediate: number;
  /** Acquisitions granted after a wait. */
  readonly delayed: number;
  /** Acquisitions refused (timeout or abort). */
  readonly refused: number;
}

/**
 * DSQL's documented per-cluster connection rate quota.
 *
 * @example
 * new ConnectRateLimiter(DEFAULT_CONNECT_RATE); // 100/s, burst 1,000
 */
export const DEFAULT_CONNECT_RATE: Readonly<{ perSecond: number; burst: number }> = Object.freeze({ perSecond: 100, burst: 1000 });

/**
 * Validates `{ perSecond, burst }` (or `false` / `true`) and fills in defaults.
 *
 * @example
 * resolveConnectRateLimit({ perSecond: 10 }) // → { perSecond: 10, burst: 1000 }
 */
export function resolveConnectRateLimit(value: unknown, field = 'connectRateLimit'): { readonly perSecond: number; readonly burst: number } | false {
  if (value === false) return false;
  if (value === undefined || value === true) return DEFAULT_CONNECT_RATE;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DsqlConfigError(field, describeValue(value), '{ perSecond, burst }, true (defaults 100/s, burst 1000) or false');
  }
  const v = value as { perSecond?: unknown; burst?: unknown };
  const perSecond = v.perSecond ?? DEFAULT_CONNECT_RATE.perSecond;
  const burst = v.burst ?? DEFAULT_CONNECT_RATE.burst;
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0 || perSecond > 1e6) {
    throw new DsqlConfigError(`${field}.perSecond`, describeValue(perSecond), 'a number greater than 0 and at most 1,000,000');
  }
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1 || burst > 1e7) {
    throw new DsqlConfigError(`${field}.burst`, describeValue(burst), 'an integer from 1 to 10,000,000');
  }
  return Object.freeze({ perSecond, burst });
}

/**
 * A token bucket that paces new connections: `burst` may open at once, then `perSecond`.
 * Waiters are served in arrival order. Share one instance between the pools of a process
 * (see {@link sharedConnectRateLimiter}) so their sum stays under the cluster's quota, which
 * otherwise answers `53400 rate exceeded`.
 *
 * @example
 * const limiter = new ConnectRateLimiter({ perSecond: 100, burst: 1000 });
 * await limiter.acquire({ timeoutMs: 5000 }); // then open the connection
 */
export class ConnectRateLimiter {
  #perSecond: number;
  #burst: number;
  readonly #now: () => number;
  readonly #sleep: Sleep;
  /** Tokens in the bucket; negative while waiters hold reservations. */
  #tokens: number;
  #updatedAt: number;
  #immediate = 0;
  #delayed = 0;
  #refused = 0;

  constructor(options: ConnectRateLimitOptions = {}) {
    const { perSecond, burst } = resolveConnectRateLimit({ perSecond: options.perSecond, burst: options.burst }) as {
      perSecond: number;
      burst: number;
    };
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? realSleep;
    this.#tokens = burst;
    this.#updatedAt = this.#now();
  }

  /** Tokens added per second. A shared limiter may be lowered by a later pool ({@link sharedConnectRateLimiter}). */
  get perSecond(): number {
    return this.#perSecond;
  }

  /** Bucket size. A shared limiter may be lowered by a later pool ({@link sharedConnectRateLimiter}). */
  get burst(): number {
    return this.#burst;
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#updatedAt = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#perSecond) / 1000);
  }

  /**
   * Lowers the limits to `perSecond` / `burst` where they are lower (never raises them); waiters
   * keep the slots they were promised. Used by {@link sharedConnectRateLimiter}.
   *
   * @internal
   */
  [TIGHTEN](perSecond: number, burst: number): void {
    this.#refill();
    this.#perSecond = Math.min(this.#perSecond, perSecond);
    this.#burst = Math.min(this.#burst, burst);
    this.#tokens = Math.min(this.#tokens, this.#burst);
  }

  /**
   * True when the bucket is full: the limiter is then indistinguishable from a new one.
   *
   * @internal
   */
  [BUCKET_FULL](): boolean {
    this.#refill();
    return this.#tokens >= this.#burst;
  }

  /**
   * Resolves when a connection may be opened. Rejects with a `DsqlTimeoutError` at once if the
   * wait would exceed `timeoutMs`, or with a `DsqlAbortError` when `signal` aborts; a refused
   * acquisition gives its reservation back.
   *
   * @example
   * await limiter.acquire({ signal: AbortSignal.timeout(10_000) });
   */
  async acquire(options: AcquireOptions = {}): Promise<void> {
    if (options.signal?.aborted) {
      this.#refused++;
      throw new DsqlAbortError('Waiting for a connection slot was aborted.', { cause: options.signal.reason });
    }
    this.#refill();
    this.#tokens -= 1;
    if (this.#tokens >= 0) {
      this.#immediate++;
      return;
    }
    const waitMs = Math.ceil((-this.#tokens * 1000) / this.#perSecond);
    if (options.timeoutMs !== undefined && waitMs > options.timeoutMs) {
      this.#tokens += 1;
      this.#refused++;
      throw new DsqlTimeoutError(
        `Connection rate limit: the next slot is ${waitMs} ms away, longer than the ${options.timeoutMs} ms allowed (limit ${this.perSecond}/s, burst ${this.burst}).`,
        { hint: 'Open fewer connections at once (smaller pool min, reuse connections) or raise connectionTimeoutMillis.' },
      );
    }
    try {
      await this.#sleep(waitMs, options.signal);
    } catch (err) {
      this.#tokens += 1;
      this.#refused++;
      throw err;
    }
    this.#delayed++;
  }

  /**
   * Counters since creation.
   *
   * @example
   * const { immediate, delayed, refused } = limiter.stats();
   */
  stats(): ConnectRateLimiterStats {
    return { immediate: this.#immediate, delayed: this.#delayed, refused: this.#refused };
  }
}

interface SharedLimiters {
  readonly limiters: SharedRegistry<ConnectRateLimiter>;
  /** Settings already warned about, per limiter (so a pool created per request warns once). */
  readonly warned: WeakMap<ConnectRateLimiter, Set<string>>;
}

/**
 * A limiter is held after its last lookup for as long as a drained bucket takes to refill, and
 * while its bucket is not full; afterwards it stays shared for as long as anyone (a pool) still
 * holds it. One that nobody holds and whose bucket is full is equivalent to a fresh one.
 */
function sharedLimiters(): SharedLimiters {
  return processWide('@dsql/core/connect-rate-limiters/v2', () => ({
    limiters: new SharedRegistry<ConnectRateLimiter>({
      holdMs: (limiter) => Math.ceil((limiter.burst * 1000) / limiter.perSecond),
      busy: (limiter) => !limiter[BUCKET_FULL](),
    }),
    warned: new WeakMap<ConnectRateLimiter, Set<string>>(),
  }));
}

function describeRate(limits: { perSecond: number; burst: number }): string {
  return `${limits.perSecond}/s, burst ${limits.burst}`;
}

/**
 * The process-wide limiter for an endpoint (key: usually the cluster hostname, compared case-
 * insensitively), because the quota belongs to the cluster, not to a pool. Shared through
 * `globalThis`, so duplicate installs of this package share it too. The registry stays bounded:
 * a limiter nobody holds any more is dropped once its bucket has refilled (it is then the same
 * as a fresh one).
 *
 * Options contract: the first call creates the limiter with `options` (defaults: DSQL's quota).
 * A later call without options joins it as it is. A later call whose options differ lowers the
 * shared limiter to the stricter of the two, field by field (`perSecond` and `burst` each take
 * the lower value), so no pool of the process can exceed what any pool asked for, and emits a
 * one-time `process.emitWarning` (code `DSQL_CONNECT_RATE_LIMIT_MISMATCH`) naming the endpoint,
 * the limits in force and the limits asked for. Limits are never raised while the limiter lives:
 * to raise them, give every pool of the endpoint the new value.
 *
 * @example
 * const limiter = sharedConnectRateLimiter(config.host, config.connectRateLimit || undefined);
 */
export function sharedConnectRateLimiter(endpoint: string, options?: Omit<ConnectRateLimitOptions, 'now' | 'sleep'>): ConnectRateLimiter {
  const key = endpoint.toLowerCase();
  const shared = sharedLimiters();
  const limiter = shared.limiters.get(key, () => new ConnectRateLimiter({ perSecond: options?.perSecond, burst: options?.burst, now: sharedRegistryNow }));
  if (options === undefined) return limiter;
  const asked = resolveConnectRateLimit({ perSecond: options.perSecond, burst: options.burst }) as { perSecond: number; burst: number };
  if (asked.perSecond === limiter.perSecond && asked.burst === limiter.burst) return limiter;
  const before = { perSecond: limiter.perSecond, burst: limiter.burst };
  limiter[TIGHTEN](asked.perSecond, asked.burst);
  const setting = describeRate(asked);
  let warned = shared.warned.get(limiter);
  if (warned === undefined) shared.warned.set(limiter, (warned = new Set()));
  if (!warned.has(setting)) {
    warned.add(setting);
    process.emitWarning(
      `Connection rate limit for ${redact(endpoint)}: a pool asked for ${setting}, but this process already shares ${describeRate(before)} for that endpoint; ` +
        `every pool of it now uses the stricter ${describeRate(limiter)}. Give all pools of one endpoint the same connectRateLimit.`,
      { type: 'DsqlWarning', code: 'DSQL_CONNECT_RATE_LIMIT_MISMATCH' },
    );
  }
  return limiter;
}

/** Test hook: counts of the shared limiters. @internal */
export function sharedConnectRateLimiterStats(): { entries: number; held: number } {
  return sharedLimiters().limiters.stats();
}
