// The adaptive connect limiter's tuning (adaptive-rate-limiter.ts) and its estimate of this
// process's share of the cluster's connection rate: pure arithmetic, apart so that the limiter
// reads as a state machine and the estimate can be checked on its own.

/**
 * In slow start, a limiter has at most this share of the configured burst under way at once (and
 * at least one attempt): a fleet of up to 16 processes starting together then has no more attempts
 * under way than the cluster's bucket holds, and each learns of a refusal with about one attempt
 * at stake rather than its whole window (measured on a fleet of 8 × 10 against 10/s, burst 10: 12
 * refused instead of 18). With DSQL's burst of 1,000 the ceiling is 62 attempts under way.
 */
export const SLOW_START_SHARE = 1 / 16;

/** The slow-start window's ceiling for a configured burst (see {@link SLOW_START_SHARE}). */
export function slowStartWindow(burst: number): number {
  return Math.max(1, Math.floor(burst * SLOW_START_SHARE));
}

/** Least decrease per congestion event (CUBIC's and the AWS SDK's β): the rate after it is at most this share of the rate before. */
export const DECREASE = 0.7;
/** Largest decrease per congestion event (four halvings): the rate after it is at least this share of the rate before. */
export const MAX_DECREASE = 1 / 16;
/** A sample in which nothing was admitted counts this many admissions (a refusal says little about how small the share is). */
export const NOTHING_ADMITTED = 0.5;
/** Seconds from a decrease back to the configured rate (cubic: flat at first, then faster), jittered ×0.8–1.2 per limiter. */
export const RECOVERY_SECONDS = 8;
/**
 * Share of the recovery time the rate holds at the decreased one before it climbs (~2 s): every
 * process of a fleet is refused and has measured its own share by then, so the first to climb does
 * not take what the last were measured to have and set off a second round of refusals (measured
 * on a fleet of 8 × 10 against 10/s, burst 10: 10 refused instead of 12.5, all connected 8.1 s
 * instead of 8.7 s, medians of 6 alternating rounds).
 */
export const HOLD_SHARE = 0.25;
/** Lowest rate, as a share of the configured one (and never below 0.05/s: one attempt per 20 s). */
export const FLOOR_SHARE = 1 / 1000;
/** Answer times kept for the share estimate's windows (the oldest go first; the whole sample's count stays). */
export const SAMPLE_TIMES = 1024;
/** Answers to attempts admitted before a decrease stop counting as "before" after this long. */
export const STALE_ANSWERS_MS = 5000;
/**
 * In slow start an attempt holds its place in the window until it is answered, or this long (so
 * that a caller that never reports outcomes is slowed, not stopped).
 */
export const IN_FLIGHT_MS = 2000;

/**
 * What the limiter saw since its last decrease: when the sample began (monotonic ms), what the
 * cluster's bucket held then (at most), how many of its attempts were admitted, and when (ms).
 */
export interface ShareSample {
  from: number;
  bucket: number;
  admitted: number;
  times: number[];
}

/**
 * This limiter's share of the cluster's rate, as the sample shows it. In any window of the
 * sample, the cluster can have admitted to everyone at most what its bucket held when the
 * window began (at most `burst`, and at most what it held at the sample's start plus what
 * refilled since) plus the configured rate for the window's length; the part of that which
 * went to a limiter's attempts is a lower bound of its share. Windows start at the sample's
 * start and at each admission; the share is the tightest (largest) of those bounds, so time
 * the fleet left the bucket full (processes still starting up) does not dilute it. Nothing
 * admitted counts as half an attempt: a refusal says little about how small the share is.
 */
export function shareOfRate(sample: ShareSample, now: number, ceiling: number, maxBurst: number): number {
  const c = ceiling / 1000;
  const bound = (from: number, admitted: number): number => {
    const bucket = Math.min(maxBurst, sample.bucket + c * (from - sample.from));
    const available = bucket + c * Math.max(0, now - from);
    return available > 0 ? admitted / available : 0;
  };
  let share = bound(sample.from, Math.max(sample.admitted, NOTHING_ADMITTED));
  const times = sample.times;
  for (let i = 0; i < times.length; i++) share = Math.max(share, bound(times[i]!, times.length - i));
  return ceiling * share;
}
