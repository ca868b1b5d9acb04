/**
 * A seeded pseudo-random generator (mulberry32: tiny, fast, good enough to pick faults and
 * accounts; not for cryptography). The same seed gives the same sequence, so a printed seed
 * replays a run's fault schedule and choices.
 */
export interface Random {
  /** A float in [0, 1). */
  (): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T;
}

/**
 * @example
 * const random = seeded(42);
 * random.int(1, 6); // the same every run with seed 42
 */
export function seeded(seed: number): Random {
  let a = seed >>> 0;
  const next = (() => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as Random;
  next.int = (min, max) => min + Math.floor(next() * (max - min + 1));
  next.pick = (items) => items[Math.floor(next() * items.length)]!;
  return next;
}
