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
import { slowStartWindow, DECREASE, HOLD_SHARE, MAX_DECREASE, RECOVERY_SECONDS, FLOOR_SHARE, SAMPLE_TIMES, STALE_ANSWERS_MS, IN_FLIGHT_MS, shareOfRate, type ShareSample } from './adaptive-share.js';

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
 * With no coordination service, it learns from the only signal there is, the cluster's 53400
 * answers (reported through {@link observe}), in the manner of TCP CUBIC and the AWS SDK's adaptive
 * retry mode (`DefaultRateLimiter`: a cubic climb after a multiplicative decrease to a measured
 * rate), with a decrease sized by measurement rather than a fixed halving:
 * - **Slow start.** The first attempt never waits. The rate starts at the configured `perSecond`;
 *   the burst starts at one connection and grows by one per admitted connection up to the
 *   configured `burst`, and no more attempts than the burst are under way at once, nor more than a
 *   sixteenth of the configured burst (at least one; an attempt holds its place until its outcome
 *   is reported, at most 2 s). A process alone gets the configured rate within a few round trips;
 *   a fleet of up to 16 starting together has no more under way than the cluster's bucket holds,
 *   and when the bucket runs dry each process has about one attempt at stake (every attempt under
 *   way then is refused).
 * - **Decrease to the measured share.** A refusal means the cluster's bucket is empty: the fleet
 *   asks more than the cluster's rate, by an unknown factor. Halving needs log₂(N) refusals per
 *   process to get N processes down to their share; instead the limiter measures it from what the
 *   cluster can have admitted to everyone since the sample began and what went to this process
 *   (`shareOfRate` in adaptive-share.ts). Summed over the fleet these shares come to about the
 *   cluster's rate, so one refusal per process brings the fleet there.
 *   The rate drops to that share, but at least to 0.7× (CUBIC's β) and at most to 1/16 of what it
 *   was; a sample with nothing admitted counts as half an admission. Answers to attempts already
 *   under way at the decrease, and refusals sooner after it than the bucket takes to refill
 *   (`burst / perSecond`: the rest of the fleet may not have slowed down yet), do not decrease
 *   again: one decrease per congestion event. The tokens in hand are dropped.
 * - **Hold, then cubic climb.** It holds the decreased rate for a quarter of the recovery time
 *   (~2 s: the rest of the fleet is refused and measures its share meanwhile), then climbs back to
 *   the configured rate on a cubic curve, flat at first and steeper later, in ~8 s from the
 *   decrease (jittered ×0.8–1.2 per limiter so processes do not probe in lockstep): a fleet whose
 *   shares add up stays there for a few seconds without a refusal, and capacity left by processes
 *   that finished is taken up within seconds.
 *
 * What the measurement cannot do: tell N processes apart before one of them is refused (each
 * must be refused about once, plus whatever it had under way), or make the shares equal when the
 * cluster's bucket holds only a few connections per process (who got the last tokens is luck;
 * the climb evens it out over seconds). It takes the configured limits for the cluster's quota
 * (they are DSQL's by default): configured lower, the shares come out higher (the 0.7× bound
 * still applies); configured higher, lower (the climb makes up for it).
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
  /** After a decrease: the rate it set, when, and this limiter's jittered time back to the ceiling. */
  #decreasedTo = 0;
  #decreasedAt = Number.NEGATIVE_INFINITY;
  #recoveryMs = RECOVERY_SECONDS * 1000;
  /** The share estimate's sample: its bucket is full at a busy period's start, empty right after a refusal. */
  readonly #sample: ShareSample;
  #lastActive = Number.NEGATIVE_INFINITY;
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
    this.#sample = { from: this.#updatedAt, bucket: this.#maxBurst, admitted: 0, times: [] };
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
    // Tokens accrue at the rate in force before this refill (rates only change between refills),
    // up to the burst in force after it (after a long quiet spell, the one the climb got back to).
    const accrued = this.#tokens + (elapsed * this.#rate) / 1000;
    if (!this.#slowStart && this.#rate < this.#ceiling) {
      const progress = Math.min(1, Math.max(0, (now - this.#decreasedAt) / this.#recoveryMs - HOLD_SHARE) / (1 - HOLD_SHARE));
      this.#rate = Math.min(this.#ceiling, this.#decreasedTo + (this.#ceiling - this.#decreasedTo) * progress ** 3);
      this.#capacity = Math.max(1, Math.min(this.#maxBurst, (this.#maxBurst * this.#rate) / this.#ceiling));
    }
    this.#tokens = Math.min(this.#capacity, accrued);
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
    this.#forgetUnanswered(this.#clock());
    return this.#inFlight.length < Math.min(this.#capacity, slowStartWindow(this.#maxBurst));
  }

  /** An attempt never reported stops counting as under way after {@link IN_FLIGHT_MS}. */
  #forgetUnanswered(now: number): void {
    while (this.#inFlight.length > 0 && now - this.#inFlight[0]! >= IN_FLIGHT_MS) this.#inFlight.shift();
  }

  /**
   * A new busy period after a quiet one at least as long as the cluster's bucket takes to refill:
   * the bucket may be full again, so the share estimate starts a new sample from there.
   */
  #active(): void {
    const now = this.#clock();
    this.#forgetUnanswered(now);
    const quiet = now - this.#lastActive >= this.#refillMs();
    if (quiet && this.#queue.length === 0 && this.#inFlight.length === 0) {
      this.#restartSample(now, this.#maxBurst);
    }
    this.#lastActive = now;
  }

  /** How long the cluster's bucket takes to refill from empty, the configured limits taken as its quota. */
  #refillMs(): number {
    return (this.#maxBurst * 1000) / this.#ceiling;
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
    this.#active();
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
   * answer lowers the rate and the burst to this limiter's measured share of the cluster's rate
   * (0.7× to 1/16 of the rate before), unless the attempt was already under way at the last
   * decrease or the last decrease was less than a bucket refill ago; a connected attempt counts
   * in the share's sample and grows the burst while in slow start.
   *
   * @example
   * try { await dial(); limiter.observe(); } catch (err) { limiter.observe(err); throw err; }
   */
  override observe(error?: unknown): void {
    this.#refill();
    const now = this.#clock();
    this.#inFlight.shift();
    this.#lastActive = now;
    const stale = this.#staleAnswers > 0 && now - this.#decreasedAt < STALE_ANSWERS_MS;
    if (this.#staleAnswers > 0) this.#staleAnswers--;
    if (!isRateExceeded(error)) {
      // An attempt under way at the last decrease was admitted before the cluster's bucket ran dry: not part of the sample.
      if (error === undefined && !stale) {
        this.#sample.admitted++;
        this.#sample.times.push(now);
        if (this.#sample.times.length > SAMPLE_TIMES) this.#sample.times.shift();
      }
      if (error === undefined && this.#slowStart) this.#capacity = Math.min(this.#maxBurst, this.#capacity + 1);
      this.#wake?.abort(); // a place in the window is free
      return;
    }
    this.#rateExceeded++;
    if (stale) return;
    // Sooner after the last decrease than the cluster's bucket takes to refill: the same
    // congestion event (the rest of the fleet may not have slowed down yet), and too short a
    // sample to measure a share by.
    if (now - this.#decreasedAt < this.#refillMs()) return;
    this.#decreases++;
    this.#slowStart = false;
    this.#rate = Math.max(this.#floor, this.#rate * MAX_DECREASE, Math.min(this.#rate * DECREASE, this.#share(now)));
    this.#capacity = Math.max(1, Math.min(this.#capacity * DECREASE, (this.#maxBurst * this.#rate) / this.#ceiling));
    // The cluster's bucket is empty: what this limiter still holds would only be refused too.
    this.#tokens = Math.min(this.#tokens, 0);
    this.#decreasedTo = this.#rate;
    this.#decreasedAt = now;
    this.#recoveryMs = RECOVERY_SECONDS * 1000 * (0.8 + 0.4 * this.#random());
    this.#staleAnswers = this.#inFlight.length;
    // The cluster's bucket is empty now: the next sample starts from nothing.
    this.#restartSample(now, 0);
    this.#wake?.abort();
  }

  /** This limiter's share of the cluster's rate, as the sample shows it (see `shareOfRate`). */
  #share(now: number): number {
    return shareOfRate(this.#sample, now, this.#ceiling, this.#maxBurst);
  }

  #restartSample(from: number, bucket: number): void {
    Object.assign(this.#sample, { from, bucket, admitted: 0 });
    this.#sample.times.length = 0;
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
