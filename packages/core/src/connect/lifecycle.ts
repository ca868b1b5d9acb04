import { DsqlConfigError } from '../errors/errors.js';
import { describeValue } from '../errors/redact.js';

/**
 * A `[min, max]` window in seconds.
 *
 * @example
 * const window: SecondsWindow = [2700, 3300];
 */
export type SecondsWindow = readonly [number, number];

/**
 * DSQL closes connections at 60 min; AWS recycles at 55 min. We draw from 45–55 min so a pool never expires at once.
 *
 * @example
 * new LifecyclePolicy({ maxLifetimeSeconds: DEFAULT_MAX_LIFETIME_SECONDS });
 */
export const DEFAULT_MAX_LIFETIME_SECONDS: SecondsWindow = Object.freeze([2700, 3300] as const);
/**
 * Idle connections are closed after 10 minutes by default: reconnecting is rate-limited on DSQL, so keep them longer than pg's 10 s.
 *
 * @example
 * new pg.Pool({ idleTimeoutMillis: DEFAULT_IDLE_TIMEOUT_MILLIS });
 */
export const DEFAULT_IDLE_TIMEOUT_MILLIS = 600_000;

const HOUR = 3600;

/**
 * Validates `maxLifetimeSeconds` (a number or a `[min, max]` window) into a window.
 *
 * @example
 * resolveMaxLifetime(1800) // → [1800, 1800]
 */
export function resolveMaxLifetime(value: unknown, field = 'maxLifetimeSeconds'): SecondsWindow {
  if (value === undefined) return DEFAULT_MAX_LIFETIME_SECONDS;
  const accepted = `a number of seconds, or a [min, max] window with 0 < min <= max <= ${HOUR} (DSQL closes connections after 60 minutes)`;
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0 && n <= HOUR;
  if (ok(value)) return Object.freeze([value, value] as const);
  if (Array.isArray(value) && value.length === 2 && ok(value[0]) && ok(value[1]) && value[0] <= value[1]) {
    return Object.freeze([value[0], value[1]] as const);
  }
  throw new DsqlConfigError(field, Array.isArray(value) ? `[${value.map(describeValue).join(', ')}]` : describeValue(value), accepted);
}

/**
 * Options of {@link LifecyclePolicy}.
 *
 * @example
 * new LifecyclePolicy({ maxLifetimeSeconds: [1800, 2400], idleTimeoutMillis: 60_000 } satisfies LifecycleOptions);
 */
export interface LifecycleOptions {
  /** A number, or a `[min, max]` window each connection draws from uniformly. Default `[2700, 3300]`. */
  maxLifetimeSeconds?: number | SecondsWindow;
  /** How long an unused connection stays open. Default 600,000 ms. `0` keeps idle connections. */
  idleTimeoutMillis?: number;
  /** Injectable for tests: uniform in [0, 1). */
  random?: () => number;
}

/**
 * When adapters retire connections. Each connection gets its own maximum lifetime drawn
 * uniformly from the window, so a pool's connections do not all expire (and reconnect,
 * against DSQL's connection rate quota) at the same moment.
 *
 * @example
 * const policy = new LifecyclePolicy({ maxLifetimeSeconds: [2700, 3300] });
 * const retireAt = Date.now() + policy.drawLifetimeMillis();
 */
export class LifecyclePolicy {
  readonly maxLifetimeSeconds: SecondsWindow;
  readonly idleTimeoutMillis: number;
  readonly #random: () => number;

  constructor(options: LifecycleOptions = {}) {
    this.maxLifetimeSeconds = resolveMaxLifetime(options.maxLifetimeSeconds);
    const idle = options.idleTimeoutMillis ?? DEFAULT_IDLE_TIMEOUT_MILLIS;
    if (typeof idle !== 'number' || !Number.isFinite(idle) || idle < 0) {
      throw new DsqlConfigError('idleTimeoutMillis', describeValue(idle), 'a number of milliseconds >= 0 (0 keeps idle connections)');
    }
    this.idleTimeoutMillis = idle;
    this.#random = options.random ?? Math.random;
  }

  /**
   * A maximum lifetime for a new connection, in whole seconds, uniform in the window.
   *
   * @example
   * policy.drawLifetimeSeconds() // e.g. 3012
   */
  drawLifetimeSeconds(): number {
    const [min, max] = this.maxLifetimeSeconds;
    return Math.min(max, Math.floor(min + this.#random() * (max - min + 1)));
  }

  /**
   * Same as {@link drawLifetimeSeconds}, in milliseconds and not rounded to whole seconds.
   *
   * @example
   * setTimeout(retire, policy.drawLifetimeMillis());
   */
  drawLifetimeMillis(): number {
    const [min, max] = this.maxLifetimeSeconds;
    return Math.round((min + this.#random() * (max - min)) * 1000);
  }

  /**
   * True when a connection created at `createdAtMs` with the drawn `lifetimeMs` should be
   * retired at `nowMs` (instead of being handed out again).
   *
   * @example
   * if (policy.isExpired(conn.createdAt, conn.lifetimeMs)) conn.destroy();
   */
  isExpired(createdAtMs: number, lifetimeMs: number, nowMs: number = Date.now()): boolean {
    return nowMs - createdAtMs >= lifetimeMs;
  }
}
