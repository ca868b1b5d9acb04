// Suspecting an endpoint whose statements go unanswered (issue: a blackholed Region under a full
// pool, where no new connection attempt notices). Adapters report each connection's statements
// (sent / answered); one endpoint's record finds a statement outstanding longer than
// `suspectAfterMs` and asks the router to check the endpoint at once.
//
// Cost model: a connection's record is two numbers, updated per statement without allocating. One
// timer per endpoint (not per statement), armed only while some statement is outstanding, unref'd.
// When it fires it scans that endpoint's connections (a pool's worth) for the oldest outstanding
// statement. Hand-written: no library follows "unanswered since" per connection for a health check.

/**
 * One connection's statements as the failover router follows them. `started()` when a statement
 * is sent (or queued on the connection), `answered()` when it completes, successfully or not
 * (once per `started()`), `close()` when the connection closed. Each call is a few field updates.
 *
 * @example
 * const watch = session.router.watchStatements(endpoint); // undefined: nothing to follow
 * watch?.started();
 * client.query(text).finally(() => watch?.answered());
 */
export interface StatementWatch {
  started(): void;
  answered(): void;
  close(): void;
}

/** How the router reacts to a suspicion: `true` when a probe of the endpoint runs (its outcome comes to {@link SilentStatements.probed}). */
export type SuspectEndpoint = () => boolean;

const now = (): number => performance.now();

class Watch implements StatementWatch {
  /** Statements started and not yet answered on this connection. */
  count = 0;
  /** Since when the connection waits for an answer: the first outstanding statement's start, or the last answer while others are outstanding. */
  since = 0;
  readonly #owner: SilentStatements;

  constructor(owner: SilentStatements) {
    this.#owner = owner;
  }

  started(): void {
    if (this.count++ === 0) {
      this.since = now();
      this.#owner.outstanding();
    }
  }

  answered(): void {
    if (this.count === 0) return; // an answer reported twice must not go negative
    // An answer is progress: the connection's remaining statements wait from now.
    if (--this.count > 0) this.since = now();
  }

  close(): void {
    this.count = 0;
    this.#owner.forget(this);
  }
}

/**
 * The statements outstanding on one endpoint's connections. A statement outstanding for the
 * quiet period (`suspectAfterMs` at first) makes the endpoint suspected: `suspect()` asks the
 * router for a health probe, and the probe's outcome comes back through {@link probed}. A probe
 * that succeeds proves the endpoint answered when it started: statements are judged from then
 * on, and the quiet period doubles (up to `maxQuietMs`) so that a legitimately slow statement
 * costs a few probes, not one per `suspectAfterMs`. It is reset once nothing is outstanding.
 *
 * @example
 * const silent = new SilentStatements(5000, 30_000, () => runProbe());
 * const watch = silent.watch();
 */
export class SilentStatements {
  readonly #watches = new Set<Watch>();
  readonly #suspectAfterMs: number;
  readonly #maxQuietMs: number;
  readonly #suspect: SuspectEndpoint;
  #quietMs: number;
  /** When a probe that succeeded started: the endpoint answered then. */
  #answeredAt = Number.NEGATIVE_INFINITY;
  /** A probe runs for a suspicion; `since` of the statement that raised it. */
  #suspectedSince: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(suspectAfterMs: number, maxQuietMs: number, suspect: SuspectEndpoint) {
    this.#suspectAfterMs = this.#quietMs = suspectAfterMs;
    this.#maxQuietMs = Math.max(suspectAfterMs, maxQuietMs);
    this.#suspect = suspect;
  }

  /** A record for one connection to this endpoint. */
  watch(): StatementWatch {
    const watch = new Watch(this);
    this.#watches.add(watch);
    return watch;
  }

  /** Whether a suspicion's probe is under way. */
  get suspected(): boolean {
    return this.#suspectedSince !== undefined;
  }

  /** @internal A connection went from nothing outstanding to one statement outstanding. */
  outstanding(): void {
    // Armed already (or a probe runs, whose outcome re-arms): its moment is no later than this statement's.
    if (this.#timer === undefined && this.#suspectedSince === undefined && !this.#closed) this.#arm(this.#quietMs);
  }

  /** @internal */
  forget(watch: Watch): void {
    this.#watches.delete(watch);
  }

  /**
   * A probe of this endpoint (a suspicion's or the periodic check's) started at `startedAt` (monotonic
   * ms) succeeded (`ok`) or failed. A failure marks the endpoint unhealthy (the router's part) and
   * its connections are closed; a success clears the suspicion.
   */
  probed(ok: boolean, startedAt: number): void {
    if (ok) this.#answeredAt = Math.max(this.#answeredAt, startedAt);
    const since = this.#suspectedSince;
    this.#suspectedSince = undefined;
    if (this.#closed) return;
    // Only a probe started after the statement proves anything about it; an older one (the periodic check's) does not clear it.
    if (ok && since !== undefined && startedAt >= since) this.#quietMs = Math.min(this.#quietMs * 2, this.#maxQuietMs);
    if (this.#timer === undefined) this.#check();
  }

  /** The router closed: no more timers. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watches.clear();
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#check();
    }, Math.max(0, delayMs));
    this.#timer.unref?.();
  }

  /** Finds the oldest outstanding statement: suspects the endpoint if it is overdue, else waits until it would be. */
  #check(): void {
    if (this.#closed || this.#suspectedSince !== undefined) return;
    let oldest = Number.POSITIVE_INFINITY;
    for (const w of this.#watches) if (w.count > 0 && w.since < oldest) oldest = w.since;
    if (oldest === Number.POSITIVE_INFINITY) {
      this.#quietMs = this.#suspectAfterMs; // nothing outstanding: the next statement is judged afresh
      return;
    }
    const due = Math.max(oldest, this.#answeredAt) + this.#quietMs;
    const t = now();
    if (due > t) return this.#arm(due - t);
    this.#suspectedSince = oldest;
    let probing = false;
    try {
      probing = this.#suspect();
    } catch {
      // The router's failure must not reach the adapter's statement path.
    }
    if (!probing) {
      // No probe (the endpoint is already unhealthy, or no probe registered): look again later.
      this.#suspectedSince = undefined;
      this.#arm(this.#quietMs);
    }
  }
}
