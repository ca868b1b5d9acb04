import { DsqlAbortError, DsqlConfigError, DsqlTimeoutError } from './errors.js';
import { describeValue } from './redact.js';
import { sleep as realSleep, type Sleep } from './timers.js';

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
  readonly perSecond: number;
  readonly burst: number;
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
    this.perSecond = perSecond;
    this.burst = burst;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? realSleep;
    this.#tokens = burst;
    this.#updatedAt = this.#now();
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#updatedAt = now;
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.perSecond) / 1000);
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
    const waitMs = Math.ceil((-this.#tokens * 1000) / this.perSecond);
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

const REGISTRY_KEY = Symbol.for('@dsql/core/connect-rate-limiters');
type Registry = Map<string, ConnectRateLimiter>;

function registry(): Registry {
  const g = globalThis as { [REGISTRY_KEY]?: Registry };
  return (g[REGISTRY_KEY] ??= new Map());
}

/**
 * The process-wide limiter for an endpoint (key: usually the cluster hostname). The first call
 * for a key creates it with `options`; later calls return the same instance whatever their
 * options, because the quota belongs to the cluster, not to a pool. Shared through
 * `globalThis`, so duplicate installs of this package share it too.
 *
 * @example
 * const limiter = sharedConnectRateLimiter(config.host, config.connectRateLimit || undefined);
 */
export function sharedConnectRateLimiter(endpoint: string, options?: Omit<ConnectRateLimitOptions, 'now' | 'sleep'>): ConnectRateLimiter {
  const key = endpoint.toLowerCase();
  const reg = registry();
  let limiter = reg.get(key);
  if (limiter === undefined) {
    limiter = new ConnectRateLimiter(options);
    reg.set(key, limiter);
  }
  return limiter;
}
