import { LifecyclePolicy, resolveMaxLifetime, DEFAULT_IDLE_TIMEOUT_MILLIS } from '../src/connect/lifecycle.js';

describe('LifecyclePolicy', () => {
  it('draws each lifetime uniformly from the default 45–55 minute window', () => {
    const p = new LifecyclePolicy();
    expect(p.maxLifetimeSeconds).toEqual([2700, 3300]);
    const draws = Array.from({ length: 2000 }, () => p.drawLifetimeSeconds());
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(2700);
    expect(Math.max(...draws)).toBeLessThanOrEqual(3300);
    // Spread out: a pool does not expire at once (each tenth of the window gets some).
    const buckets = new Set(draws.map((d) => Math.min(9, Math.floor((d - 2700) / 60))));
    expect(buckets.size).toBe(10);
  });

  it('maps the random source onto the window ends (injected random)', () => {
    expect(new LifecyclePolicy({ random: () => 0 }).drawLifetimeSeconds()).toBe(2700);
    expect(new LifecyclePolicy({ random: () => 0.9999999 }).drawLifetimeSeconds()).toBe(3300);
    expect(new LifecyclePolicy({ random: () => 0.5, maxLifetimeSeconds: [100, 200] }).drawLifetimeMillis()).toBe(150_000);
    expect(new LifecyclePolicy({ maxLifetimeSeconds: 600 }).drawLifetimeSeconds()).toBe(600);
  });

  it('tells when a connection is expired and exposes the idle timeout', () => {
    const p = new LifecyclePolicy({ idleTimeoutMillis: 1234 });
    expect(p.idleTimeoutMillis).toBe(1234);
    expect(p.isExpired(1000, 500, 1499)).toBe(false);
    expect(p.isExpired(1000, 500, 1500)).toBe(true);
    expect(p.isExpired(Date.now(), 60_000)).toBe(false);
    expect(new LifecyclePolicy().idleTimeoutMillis).toBe(DEFAULT_IDLE_TIMEOUT_MILLIS);
    expect(() => new LifecyclePolicy({ idleTimeoutMillis: -1 })).toThrow(/idleTimeoutMillis/);
  });

  it('validates windows', () => {
    expect(resolveMaxLifetime([10, 10])).toEqual([10, 10]);
    expect(() => resolveMaxLifetime([0, 10])).toThrow(/maxLifetimeSeconds/);
    expect(() => resolveMaxLifetime([1, 2, 3])).toThrow(/\[1, 2, 3\]/);
    expect(() => resolveMaxLifetime(Number.NaN)).toThrow(/NaN/);
  });
});
