import { DsqlAbortError, DsqlTimeoutError } from '../errors/errors.js';
import { sleep as realSleep, type Sleep } from '../timers.js';
import {
  BUCKET_FULL,
  CONFIGURED,
  ConnectRateLimiter,
  isRateExceeded,
  TIGHTEN,
  type AcquireOptions,
  type ConnectRateLimiterStats,
  type ConnectRateLimitOptions,
  type ResolvedConnectRateLimit,
} from './rate-limiter.js';

/** Multiplicative decrease: the rate (and burst) after a 53400 answer, as a share of the rate before. */
const DECREASE = 0.5;
/** Additive increase after a decrease, per second, as a share of the configured rate (jittered ×0.5–1.5). */
const INCREASE_SHARE = 1 / 40;
/** Lowest rate, as a share of the configured one (and never below 0.05/s: one attempt per 20 s). */
const FLOOR_SHARE = 1 / 1000;
/** Answers to attempts admitted before a decrease stop counting as "before" after this long. */
const STALE_ANSWERS_MS = 5000;
/**
 * In slow start an attempt holds its place in the window until it is answered, or this long (so
 * that a caller that never reports outcomes is slowed, not stopped).
 */
const IN_FLIGHT_MS = 2000;

/**
 * Options of {@link AdaptiveConnectRateLimiter}: those of {@link ConnectRateLimiter} plus an
 * injectable random source.
 *
 * @example
 * new AdaptiveConnectRateLimiter({ perSecond: 100, burst: 1000 } satisfies AdaptiveConnectRateLimitOptions);
 */
export interface AdaptiveConnectRateLimitOptions extends ConnectRateLimitOptions {
  /** Injectable `Math.random`, for tests. */
  random?: () => number;
}

/**
 * Counters of an {@link AdaptiveConnectRateLimiter}: those of a fixed limiter, the rate and burst
 * in force, and how often it backed off.
 *
 * @example
 * const { perSecond, decreases }: AdaptiveConnectRateLimiterStats = limiter.stats();
 */
export interface AdaptiveConnectRateLimiterStats extends ConnectRateLimiterStats {
  /** The rate in force now (at most the configured one). */
  readonly perSecond: number;
  /** The burst in force now (at most the configured one). */
  readonly burst: number;
  /** Times the rate was lowered (once per congestion event, not per refused attempt). */
  readonly decreases: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly cleanup: () => void;
}

/**
 * A connection rate limiter that finds its share of the cluster's quota by itself, for fleets of
 * processes that each run their own limiter against one cluster (a deploy, an autoscaling step,
 * many Lambda environments): the quota (100/s, burst 1,000) is the cluster's, and N processes
 * each pacing at the full rate offer N times what it admits; the excess is refused with 53400,
 * each refusal a TLS handshake and an authentication the cluster did for nothing.
 *
 * AIMD, as TCP and the AWS SDK's adaptive retry mode do it, with no coordination service:
 * - **Slow start.** The rate starts at the configured `perSecond`; the burst starts at one
 *   connection and grows by one per admitted connection up to the configured `burst`, and no more
 *   attempts than the burst are under way at once (an attempt holds its place until its outcome is
 *   reported, at most 2 s), so a fleet starting together learns the cluster's answer before it
 *   has spent the cluster's bucket N times over.
 * - **Multiplicative decrease.** On a 53400 answer (reported through {@link observe}) the rate and
 *   the burst halve and the tokens in hand are dropped. Answers to attempts that were already
 *   under way when it happened do not halve again: one decrease per congestion event.
 * - **Additive increase.** From there the rate climbs back linearly (by a fortieth of the
 *   configured rate per second, jittered per limiter so processes do not probe in lockstep) up to
 *   the configured rate, the burst with it.
 *
 * The configured rate is a ceiling it never exceeds. Waiters are served in arrival order and a
 * lower rate applies to those already waiting. Adapters report every attempt's outcome, so a
 * session's limiter adapts without anything else to do (`connectRateLimit: { adaptive: true }`).
 *
 * @example
 * const limiter = new AdaptiveConnectRateLimiter({ perSecond: 100, burst: 1000 });
 * await limiter.acquire({ timeoutMs: 30_000 });
 * try { await dial(); limiter.observe(); } catch (err) { limiter.observe(err); throw err; }
 */
export class AdaptiveConnectRateLimiter extends ConnectRateLimiter {
  #ceiling: number;
  #maxBurst: number;
  readonly #floor: number;
  readonly #clock: () => number;
  readonly #wait: Sleep;
  readonly #random: () => number;
  #rate: number;
  #capacity = 1;
  #tokens = 1;
  #updatedAt: number;
  #slowStart = true;
  /** After a decrease: the rate it set, when, and this limiter's jittered climb per second. */
  #decreasedTo = 0;
  #decreasedAt = Number.NEGATIVE_INFINITY;
  #climbPerSecond = 0;
  /** When the attempts admitted and not yet reported were admitted (oldest first). */
  readonly #inFlight: number[] = [];
  #staleAnswers = 0;
  readonly #queue: Waiter[] = [];
  #pumping = false;
  #wake: AbortController | undefined;
  #immediate = 0;
  #delayed = 0;
  #refused = 0;
  #rateExceeded = 0;
  #decreases = 0;

  constructor(options: AdaptiveConnectRateLimitOptions = {}) {
    super(options);
    this.#ceiling = super.perSecond;
    this.#maxBurst = super.burst;
    this.#floor = Math.min(this.#ceiling, Math.max(this.#ceiling * FLOOR_SHARE, 0.05));
    this.#clock = options.now ?? Date.now;
    this.#wait = options.sleep ?? realSleep;
    this.#random = options.random ?? Math.random;
    this.#rate = this.#ceiling;
    this.#updatedAt = this.#clock();
  }

  /** The rate in force now: the configured one, or less after 53400 answers. */
  override get perSecond(): number {
    this.#refill();
    return this.#rate;
  }

  /** The burst in force now. */
  override get burst(): number {
    this.#refill();
    return this.#capacity;
  }

  #refill(): void {
    const now = this.#clock();
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#updatedAt = now;
    // Tokens accrue at the rate in force before this refill (rates only change between refills).
    this.#tokens = Math.min(this.#capacity, this.#tokens + (elapsed * this.#rate) / 1000);
    if (!this.#slowStart && this.#rate < this.#ceiling) {
      const climbed = this.#decreasedTo + (this.#climbPerSecond * (now - this.#decreasedAt)) / 1000;
      this.#rate = Math.min(this.#ceiling, climbed);
      this.#capacity = Math.max(1, Math.min(this.#maxBurst, (this.#maxBurst * this.#rate) / this.#ceiling));
    }
  }

  override [TIGHTEN](perSecond: number, burst: number): void {
    this.#refill();
    this.#ceiling = Math.min(this.#ceiling, perSecond);
    this.#maxBurst = Math.min(this.#maxBurst, burst);
    this.#rate = Math.min(this.#rate, this.#ceiling);
    this.#decreasedTo = Math.min(this.#decreasedTo, this.#rate);
    this.#capacity = Math.min(this.#capacity, this.#maxBurst);
    this.#tokens = Math.min(this.#tokens, this.#capacity);
    this.#wake?.abort();
  }

  /**
   * Slow start is self-clocked, as TCP's is: no more attempts under way than the burst allows, so
   * a fleet learns the cluster's answer before it has sent its whole burst.
   */
  #windowOpen(): boolean {
    if (!this.#slowStart) return true;
    const now = this.#clock();
    while (this.#inFlight.length > 0 && now - this.#inFlight[0]! >= IN_FLIGHT_MS) this.#inFlight.shift();
    return this.#inFlight.length < this.#capacity;
  }

  override [CONFIGURED](): ResolvedConnectRateLimit {
    return { perSecond: this.#ceiling, burst: this.#maxBurst, adaptive: true };
  }

  override [BUCKET_FULL](): boolean {
    this.#refill();
    return this.#queue.length === 0 && this.#tokens >= this.#capacity && this.#rate >= this.#ceiling;
  }

  /**
   * Resolves when a connection may be opened (then report its outcome with {@link observe}).
   * Rejects with a `DsqlTimeoutError` when the wait would exceed `timeoutMs` — at once when that
   * is clear on arrival, else when the rate fell while waiting — or a `DsqlAbortError` when
   * `signal` aborts.
   *
   * @example
   * await limiter.acquire({ signal: AbortSignal.timeout(10_000) });
   */
  override acquire(options: AcquireOptions = {}): Promise<void> {
    if (options.signal?.aborted) {
      this.#refused++;
      return Promise.reject(new DsqlAbortError('Waiting for a connection slot was aborted.', { cause: options.signal.reason }));
    }
    this.#refill();
    if (this.#queue.length === 0 && this.#tokens >= 1 && this.#windowOpen()) {
      this.#tokens -= 1;
      this.#immediate++;
      this.#inFlight.push(this.#clock());
      return Promise.resolve();
    }
    const waitMs = Math.ceil(((this.#queue.length + 1 - this.#tokens) * 1000) / this.#rate);
    if (options.timeoutMs !== undefined && waitMs > options.timeoutMs) {
      this.#refused++;
      return Promise.reject(this.#timeoutError(waitMs, options.timeoutMs));
    }
    return new Promise<void>((resolve, reject) => {
      const signal = options.signal;
      const onAbort = (): void => {
        const at = this.#queue.indexOf(waiter);
        if (at >= 0) this.#queue.splice(at, 1);
        this.#refused++;
        reject(new DsqlAbortError('Waiting for a connection slot was aborted.', { cause: signal?.reason }));
      };
      const waiter: Waiter = {
        resolve,
        reject,
        deadline: options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : this.#clock() + options.timeoutMs,
        timeoutMs: options.timeoutMs ?? Number.POSITIVE_INFINITY,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
      void this.#pump();
    });
  }

  #timeoutError(waitMs: number | undefined, timeoutMs: number): DsqlTimeoutError {
    const why = waitMs === undefined ? `no slot within the ${timeoutMs} ms allowed` : `the next slot is ${waitMs} ms away, longer than the ${timeoutMs} ms allowed`;
    return new DsqlTimeoutError(
      `Connection rate limit: ${why} (adaptive limit now ${this.#rate.toFixed(2)}/s, burst ${Math.floor(this.#capacity)}; configured ${this.#ceiling}/s, burst ${this.#maxBurst}).`,
      { hint: 'The cluster answered 53400 (rate exceeded): other clients share its connection quota. Open fewer connections at once (smaller pool min, reuse connections) or raise connectionTimeoutMillis.' },
    );
  }

  /** Hands out tokens to waiters in arrival order; one loop at a time, woken early when the rate changes. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0) {
        this.#refill();
        const now = this.#clock();
        for (let i = this.#queue.length - 1; i >= 0; i--) {
          const w = this.#queue[i]!;
          if (w.deadline > now) continue;
          this.#queue.splice(i, 1);
          w.cleanup();
          this.#refused++;
          w.reject(this.#timeoutError(undefined, w.timeoutMs));
        }
        const head = this.#queue[0];
        if (head === undefined) break;
        const windowOpen = this.#windowOpen();
        if (this.#tokens >= 1 && windowOpen) {
          this.#tokens -= 1;
          this.#queue.shift();
          head.cleanup();
          this.#delayed++;
          this.#inFlight.push(now);
          head.resolve();
          continue;
        }
        // Until the next token (or, with a full window, until the oldest attempt stops holding its
        // place; an answer wakes it sooner), or the first waiter's deadline if that comes sooner.
        const firstDeadline = Math.min(...this.#queue.map((w) => w.deadline));
        const untilToken = windowOpen ? Math.ceil(((1 - this.#tokens) * 1000) / this.#rate) : Math.max(1, this.#inFlight[0]! + IN_FLIGHT_MS - now);
        this.#wake = new AbortController();
        await this.#wait(Math.max(0, Math.min(untilToken, firstDeadline - now)), this.#wake.signal).catch(() => undefined);
      }
    } finally {
      this.#wake = undefined;
      this.#pumping = false;
    }
  }

  /**
   * Reports how an admitted attempt ended (its error, or nothing when it connected). A 53400
   * answer halves the rate and the burst, unless the attempt was already under way when the
   * last decrease happened; an admitted connection grows the burst while in slow start.
   *
   * @example
   * try { await dial(); limiter.observe(); } catch (err) { limiter.observe(err); throw err; }
   */
  override observe(error?: unknown): void {
    this.#refill();
    const now = this.#clock();
    this.#inFlight.shift();
    const stale = this.#staleAnswers > 0 && now - this.#decreasedAt < STALE_ANSWERS_MS;
    if (this.#staleAnswers > 0) this.#staleAnswers--;
    if (!isRateExceeded(error)) {
      if (error === undefined && this.#slowStart) this.#capacity = Math.min(this.#maxBurst, this.#capacity + 1);
      this.#wake?.abort(); // a place in the window is free
      return;
    }
    this.#rateExceeded++;
    if (stale) return;
    this.#decreases++;
    this.#slowStart = false;
    this.#rate = Math.max(this.#floor, this.#rate * DECREASE);
    this.#capacity = Math.max(1, Math.min(this.#capacity * DECREASE, (this.#maxBurst * this.#rate) / this.#ceiling));
    // The cluster's bucket is empty: what this limiter still holds would only be refused too.
    this.#tokens = Math.min(this.#tokens, 0);
    this.#decreasedTo = this.#rate;
    this.#decreasedAt = now;
    this.#climbPerSecond = this.#ceiling * INCREASE_SHARE * (0.5 + this.#random());
    this.#staleAnswers = this.#inFlight.length;
    this.#wake?.abort();
  }

  /**
   * Counters since creation, with the rate and burst in force.
   *
   * @example
   * const { rateExceeded, decreases, perSecond } = limiter.stats();
   */
  override stats(): AdaptiveConnectRateLimiterStats {
    this.#refill();
    return {
      immediate: this.#immediate,
      delayed: this.#delayed,
      refused: this.#refused,
      rateExceeded: this.#rateExceeded,
      perSecond: this.#rate,
      burst: this.#capacity,
      decreases: this.#decreases,
    };
  }
}
