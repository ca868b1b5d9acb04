import { DsqlAbortError, DsqlConfigError, DsqlTimeoutError } from '../errors/errors.js';
import { describeValue } from '../errors/redact.js';
import { classifyError } from '../errors/sqlstate.js';
import { sleep as realSleep, type Sleep } from '../timers.js';

/**
 * Cross-copy protocol between the shared registry and its limiters: the registry lives on
 * `globalThis`, so it may hold a limiter built by another copy of this package (its ESM and CJS
 * builds side by side), whose `#private` fields this copy cannot read. Symbol-keyed methods can.
 */
export const TIGHTEN = Symbol.for('@dsql/core/connect-rate-limiter/tighten');
export const BUCKET_FULL = Symbol.for('@dsql/core/connect-rate-limiter/bucket-full');
export const CONFIGURED = Symbol.for('@dsql/core/connect-rate-limiter/configured');

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
  /** Attempts the cluster answered with 53400 (connection rate exceeded), as reported to {@link ConnectRateLimiter.observe}. */
  readonly rateExceeded: number;
}

/**
 * DSQL's documented per-cluster connection rate quota.
 *
 * @example
 * new ConnectRateLimiter(DEFAULT_CONNECT_RATE); // 100/s, burst 1,000
 */
export const DEFAULT_CONNECT_RATE: Readonly<{ perSecond: number; burst: number }> = Object.freeze({ perSecond: 100, burst: 1000 });

/**
 * A validated `connectRateLimit`: the rate and burst, and whether the limiter adapts to 53400
 * answers (see `AdaptiveConnectRateLimiter`).
 *
 * @example
 * const limit: ResolvedConnectRateLimit = resolveConfig(options).connectRateLimit || DEFAULT_LIMIT;
 */
export interface ResolvedConnectRateLimit {
  readonly perSecond: number;
  readonly burst: number;
  readonly adaptive: boolean;
}

const DEFAULT_LIMIT: ResolvedConnectRateLimit = Object.freeze({ ...DEFAULT_CONNECT_RATE, adaptive: false });

/**
 * True for a connection attempt the cluster refused because its connection rate was exceeded
 * (53400): the only answer that says the rate, not something else, was the problem.
 *
 * @internal
 */
export function isRateExceeded(outcome: unknown): boolean {
  return outcome !== undefined && outcome !== null && classifyError(outcome).kind === 'rate-limited';
}

/**
 * Validates `{ perSecond, burst }` (or `false` / `true`) and fills in defaults.
 *
 * @example
 * resolveConnectRateLimit({ perSecond: 10 }) // → { perSecond: 10, burst: 1000, adaptive: false }
 */
export function resolveConnectRateLimit(value: unknown, field = 'connectRateLimit'): ResolvedConnectRateLimit | false {
  if (value === false) return false;
  if (value === undefined || value === true) return DEFAULT_LIMIT;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DsqlConfigError(field, describeValue(value), '{ perSecond, burst, adaptive }, true (defaults 100/s, burst 1000) or false');
  }
  const v = value as { perSecond?: unknown; burst?: unknown; adaptive?: unknown };
  const adaptive = v.adaptive ?? false;
  if (typeof adaptive !== 'boolean') {
    throw new DsqlConfigError(`${field}.adaptive`, describeValue(adaptive), 'true (back off on 53400 answers, then probe upward again) or false (a fixed rate)');
  }
  const perSecond = v.perSecond ?? DEFAULT_CONNECT_RATE.perSecond;
  const burst = v.burst ?? DEFAULT_CONNECT_RATE.burst;
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0 || perSecond > 1e6) {
    throw new DsqlConfigError(`${field}.perSecond`, describeValue(perSecond), 'a number greater than 0 and at most 1,000,000');
  }
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1 || burst > 1e7) {
    throw new DsqlConfigError(`${field}.burst`, describeValue(burst), 'an integer from 1 to 10,000,000');
  }
  return Object.freeze({ perSecond, burst, adaptive });
}

/**
 * A token bucket that paces new connections: `burst` may open at once, then `perSecond`.
 * Waiters are served in arrival order. Share one instance between the pools of a process
 * (a session's `limiter` is shared per cluster) so their sum stays under the cluster's quota,
 * which otherwise answers `53400 rate exceeded`.
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
  #rateExceeded = 0;

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

  /** Tokens added per second. A shared limiter may be lowered by a later pool (see `sharedConnectRateLimiter`). */
  get perSecond(): number {
    return this.#perSecond;
  }

  /** Bucket size. A shared limiter may be lowered by a later pool (see `sharedConnectRateLimiter`). */
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
   * keep the slots they were promised. Used by `sharedConnectRateLimiter`.
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
   * The limits this limiter was configured with (an adaptive one may run below them for a while).
   *
   * @internal
   */
  [CONFIGURED](): ResolvedConnectRateLimit {
    return { perSecond: this.#perSecond, burst: this.#burst, adaptive: false };
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
    return { immediate: this.#immediate, delayed: this.#delayed, refused: this.#refused, rateExceeded: this.#rateExceeded };
  }

  /**
   * Reports how a connection attempt this limiter admitted ended: its error, or nothing when it
   * connected. Every adapter calls it once per attempt. A fixed limiter only counts 53400 answers
   * (`stats().rateExceeded`); an `AdaptiveConnectRateLimiter` lowers its rate on them.
   *
   * @example
   * await limiter.acquire();
   * try { await dial(); limiter.observe(); } catch (err) { limiter.observe(err); throw err; }
   */
  observe(error?: unknown): void {
    if (isRateExceeded(error)) this.#rateExceeded++;
  }
}
