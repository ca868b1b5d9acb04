// Chooses the endpoint of each new connection among a multi-Region cluster's Regional endpoints,
// with one circuit breaker per endpoint. Hand-written rather than taken from a circuit-breaker
// library (opossum, cockatiel): those wrap one function call and decide per call; here the unit
// is an endpoint chosen before the call, recovery is a background probe the adapter supplies
// (a real connection with its own token), and every state change is a diagnostics event.
// When endpoints are probed lives in endpoint-checks.ts, the drain after a failback in failback-drain.ts.
import type { EndpointSelection, ResolvedEndpointProbe } from '../config/options.js';
import { failoverChannels } from './events.js';
import type { DsqlStatsRecorder } from '../diagnostics/stats.js';
import { logEndpointSwitch, type DsqlLogger } from '../diagnostics/logger.js';
import { isEndpointFailure, reasonOf, type EndpointHealth, type EndpointProbe, type RoutedAttempt, type RoutedEndpoint } from './endpoint-health.js';
import type { StatementWatch } from './silent-statements.js';
import { EndpointChecks } from './endpoint-checks.js';
import { FailbackDrain } from './failback-drain.js';

export { isEndpointFailure, type EndpointHealth, type EndpointProbe, type RoutedAttempt, type RoutedEndpoint } from './endpoint-health.js';
export type { StatementWatch } from './silent-statements.js';

interface State {
  healthy: boolean;
  failures: number;
  /** Monotonic ms when it was marked unhealthy. */
  downSince: number;
  reason: string;
  connectMs: number | undefined;
}

/** Options of {@link EndpointRouter}. */
export interface EndpointRouterOptions {
  selection?: EndpointSelection;
  probe: ResolvedEndpointProbe;
  /** Injectable for tests. */
  random?: () => number;
  /** The session's counters: failovers, failbacks and endpoints marked unhealthy are counted there. */
  stats?: DsqlStatsRecorder | undefined;
  /** The session's `logger`: failovers and failbacks are logged (`warn` / `info`). */
  logger?: DsqlLogger | undefined;
}

const now = (): number => performance.now();

/**
 * Chooses the endpoint of each new connection. `ordered` (default): the first healthy endpoint
 * listed; `latency`: the healthy endpoint with the lowest smoothed connect time (an unmeasured
 * one is tried first, so each gets measured). A failure of the endpoint (see
 * {@link isEndpointFailure}) opens its circuit breaker at once: new connections go to the next
 * healthy endpoint. When every endpoint is unhealthy, the one with the fewest consecutive
 * failures is tried (the most preferred on a tie), so connections keep being attempted.
 *
 * Silent endpoints: every endpoint is checked every `probe.intervalMs`, and at once when a
 * statement on it has gone unanswered for `probe.suspectAfterMs` ({@link watchStatements}); a
 * check that fails or times out marks it unhealthy, one that succeeds leaves it (and the slow
 * statement) alone.
 *
 * Recovery: one background probe per unhealthy endpoint (never more than one in flight), after
 * `probe.baseDelayMs`, doubling per failed probe up to `probe.maxDelayMs`, each delay drawn
 * uniformly from 75–125 % of it (endpoints and processes do not probe in step). Timers are
 * unref'd: they never keep a process alive. A successful probe (or a successful connection that
 * started after the endpoint was marked down) closes the breaker: new connections prefer it
 * again; connections already open elsewhere drain through their normal lifetime, or, with
 * `probe.drainAfterFailbackMs`, are closed by the adapter after that delay ({@link onFailback}). Without a
 * probe (an adapter that registered none), the breaker half-opens after the delay and the next
 * connection tries the endpoint.
 *
 * With one endpoint there is nothing to choose: no state is kept, nothing is published.
 *
 * @example
 * const router = new EndpointRouter(endpoints, { probe: { baseDelayMs: 1000, maxDelayMs: 30_000, timeoutMs: 10_000 } });
 * const attempt = router.attempt();
 * connect(attempt.endpoint).then(() => attempt.succeeded(), (err) => attempt.failed(err));
 */
export class EndpointRouter<E extends RoutedEndpoint> {
  readonly endpoints: readonly E[];
  readonly #states: State[];
  readonly #options: EndpointRouterOptions;
  /** When each endpoint is probed (backoff, periodic check, suspicion), and the probes themselves. */
  readonly #checks: EndpointChecks<E>;
  /** Where the last new connection was sent (failover / failback events compare with it). */
  #active = 0;
  #closed = false;
  /** The drain after a failback (`probe.drainAfterFailbackMs`) and its listeners. */
  readonly #failbackDrain: FailbackDrain<E>;

  constructor(endpoints: readonly E[], options: EndpointRouterOptions) {
    this.endpoints = endpoints;
    this.#options = options;
    this.#failbackDrain = new FailbackDrain(options.probe.drainAfterFailbackMs);
    this.#states = endpoints.map(() => ({ healthy: true, failures: 0, downSince: 0, reason: '', connectMs: undefined }));
    this.#checks = new EndpointChecks(endpoints, options.probe, options.random ?? Math.random, {
      closed: () => this.#closed,
      healthy: (i) => this.#states[i]!.healthy,
      checked: (i, err) => this.#checked(i, err),
    });
  }

  /**
   * Follows one connection's statements to `endpoint`, so a statement left unanswered for
   * `probe.suspectAfterMs` has the endpoint checked at once (see {@link StatementWatch}); a failed
   * check marks it unhealthy like the periodic one ({@link onUnhealthy}: the adapter fails its busy
   * connections). `undefined` when there is nothing to follow (one endpoint, `suspectAfterMs` off,
   * router closed): the adapter then does no per-statement work at all. Call `close()` on the
   * watch when the connection closes.
   *
   * @example
   * const watch = session.router.watchStatements(endpoint);
   * connection.once('close', () => watch?.close());
   */
  watchStatements(endpoint: E): StatementWatch | undefined {
    if (this.#closed) return undefined;
    return this.#checks.watch(this.endpoints.indexOf(endpoint));
  }

  readonly #unhealthyListeners = new Set<(endpoint: E, drain: boolean) => void>();

  /**
   * Registers how to probe an endpoint (the adapter's connect path). The first registration
   * wins. From then on, with more than one endpoint, every endpoint is also checked
   * periodically (`probe.intervalMs`, jittered), healthy ones included: a Region that stops
   * answering under a full pool, where no new connection attempt would notice, is found within
   * about `intervalMs + timeoutMs`.
   */
  useProbe(probe: EndpointProbe<E>): void {
    this.#checks.use(probe);
  }

  /**
   * Calls `listener(endpoint, drain)` each time an endpoint is marked unhealthy. `drain` is
   * `true` unless the endpoint only refused for too many connections (then its open connections
   * are fine): an adapter closes the endpoint's idle connections and fails its busy ones with a
   * connection error, so a Region that stopped answering holds no query until TCP gives up.
   * Returns a function that removes the listener.
   *
   * @example
   * session.router.onUnhealthy((endpoint, drain) => { if (drain) closeConnectionsOf(endpoint); });
   */
  onUnhealthy(listener: (endpoint: E, drain: boolean) => void): () => void {
    this.#unhealthyListeners.add(listener);
    return () => this.#unhealthyListeners.delete(listener);
  }

  /**
   * Calls `listener(preferred)` `probe.drainAfterFailbackMs` after new connections failed back
   * to `preferred` (never without that option), if they still go there: an adapter closes its
   * pool's connections on the other endpoints — idle ones at once, busy ones when released.
   * Returns a function that removes the listener.
   *
   * @example
   * session.router.onFailback((preferred) => retireConnectionsNotOn(preferred));
   */
  onFailback(listener: (preferred: E) => void): () => void {
    return this.#failbackDrain.on(listener);
  }

  /**
   * Whether {@link onFailback} listeners can ever be called (more than one endpoint and
   * `probe.drainAfterFailbackMs` given): an adapter that must follow its connections' state to
   * retire them (work on every message) does so only then.
   *
   * @example
   * if (session.router.drainsAfterFailback) trackIdleConnections();
   */
  get drainsAfterFailback(): boolean {
    return this.endpoints.length > 1 && this.#options.probe.drainAfterFailbackMs !== undefined;
  }

  /**
   * How long one connection attempt to `endpoint` (default: where new connections go now, i.e.
   * the endpoint {@link attempt} just chose) may take before it counts as a failure of its
   * endpoint and the next one is tried: `probe.timeoutMs` while another endpoint is healthy.
   * `undefined` (only the connect deadline applies, as with a single endpoint) when there is
   * nothing healthy to fall back to: a single endpoint, the last healthy one, or every endpoint
   * unhealthy. Cutting that attempt short would gain nothing, and a handshake slower than the
   * bound (a slow network, a starved machine) would then never connect at all. Bounds a
   * blackholed endpoint's share of a connect call. Asked once per attempt, right after
   * {@link attempt}: the answer follows health as it is then.
   *
   * @example
   * const routed = router.attempt();
   * const boundMs = router.attemptTimeoutMs(routed.endpoint); // undefined: connect deadline only
   */
  attemptTimeoutMs(endpoint: E = this.endpoints[this.#active]!): number | undefined {
    return this.endpoints.length > 1 && this.hasHealthyAlternative(endpoint) ? this.#options.probe.timeoutMs : undefined;
  }

  /** The endpoint for a new connection, now. */
  pick(): E {
    if (this.endpoints.length === 1) return this.endpoints[0]!;
    return this.endpoints[this.#settleActive()]!;
  }

  /**
   * Where new connections go now; publishes failover / failback when that changed. Called when
   * health changes too (not only when a connection is opened), so the events say when the choice
   * changed, also for a full pool that opens no connection.
   */
  #settleActive(): number {
    const index = this.#choose();
    if (index !== this.#active) {
      const from = this.#active;
      this.#active = index;
      const direction = index > from ? 'failover' : 'failback';
      const channel = failoverChannels[direction];
      this.#options.stats?.endpointSwitched(direction);
      const { logger } = this.#options;
      if (channel.hasSubscribers || logger !== undefined) {
        const reason = index > from ? this.#states[from]!.reason || 'unhealthy' : 'healthy';
        const message = { from: this.endpoints[from]!.ref, to: this.endpoints[index]!.ref, reason };
        if (channel.hasSubscribers) channel.publish(message);
        if (logger !== undefined) logEndpointSwitch(logger, direction, message);
      }
      // After a failback, the other endpoints' connections are closed once `drainAfterFailbackMs` passed.
      if (index < from && !this.#closed) this.#failbackDrain.schedule(this.endpoints[index]!, () => !this.#closed && this.#active === index);
    }
    return index;
  }

  /** Picks an endpoint for one connection attempt, whose outcome the caller reports. */
  attempt(): RoutedAttempt<E> {
    const endpoint = this.pick();
    if (this.endpoints.length === 1) return { endpoint, succeeded: () => {}, failed: () => {} };
    const started = now();
    let reported = false;
    return {
      endpoint,
      succeeded: () => {
        if (reported) return;
        reported = true;
        this.#succeeded(endpoint, started);
      },
      failed: (err) => {
        if (reported) return;
        reported = true;
        this.reportFailure(endpoint, err);
      },
    };
  }

  /** Whether another endpoint than `endpoint` is healthy now (so an attempt is worth making there at once). */
  hasHealthyAlternative(endpoint: E): boolean {
    return this.endpoints.some((e, i) => e !== endpoint && this.#states[i]!.healthy);
  }

  /**
   * Reports a failure of `endpoint` seen outside a connection attempt (an open connection lost).
   * Only failures of the endpoint count (see {@link isEndpointFailure}).
   */
  reportFailure(endpoint: E, err: unknown): void {
    if (this.endpoints.length === 1 || this.#closed || !isEndpointFailure(err)) return;
    const i = this.endpoints.indexOf(endpoint);
    const state = this.#states[i];
    if (state === undefined || !state.healthy) return; // already down: its probe decides
    const { reason, sqlstate } = reasonOf(err);
    state.healthy = false;
    state.failures = 1;
    state.downSince = now();
    state.reason = reason;
    const delay = this.#checks.backoff(i, state.failures);
    this.#options.stats?.endpointUnhealthy();
    if (failoverChannels.endpointUnhealthy.hasSubscribers) {
      failoverChannels.endpointUnhealthy.publish({ ...endpoint.ref, reason, sqlstate, failures: state.failures, nextProbeMs: delay });
    }
    this.#settleActive();
    const drain = reason !== 'too-many-connections';
    for (const listener of this.#unhealthyListeners) {
      try {
        listener(endpoint, drain);
      } catch {
        // A listener's failure must not stop routing (nor reach the connection attempt that failed).
      }
    }
  }

  /** Each endpoint's health, in the order listed. */
  health(): EndpointHealth[] {
    return this.endpoints.map((e, i) => {
      const s = this.#states[i]!;
      return { ...e.ref, healthy: s.healthy, failures: s.failures, connectMs: s.connectMs };
    });
  }

  /** Stops probing (the pool or `sql` ended). Idempotent. */
  close(): void {
    this.#closed = true;
    this.#unhealthyListeners.clear();
    this.#failbackDrain.close();
    this.#checks.close();
  }

  #choose(): number {
    const healthy = this.#states.flatMap((s, i) => (s.healthy ? [i] : []));
    if (healthy.length === 0) {
      // Nothing healthy: keep trying where the fewest consecutive failures were seen.
      let best = 0;
      this.#states.forEach((s, i) => {
        if (s.failures < this.#states[best]!.failures) best = i;
      });
      return best;
    }
    if (this.#options.selection !== 'latency') return healthy[0]!;
    let best = healthy[0]!;
    for (const i of healthy) {
      const ms = this.#states[i]!.connectMs ?? -1; // unmeasured: try it, so it gets measured
      if (ms < (this.#states[best]!.connectMs ?? -1)) best = i;
    }
    return best;
  }

  #succeeded(endpoint: E, started: number): void {
    const i = this.endpoints.indexOf(endpoint);
    const state = this.#states[i]!;
    const ms = now() - started;
    state.connectMs = state.connectMs === undefined ? ms : state.connectMs * 0.8 + ms * 0.2;
    // An attempt that started before the endpoint went down says nothing about it now.
    if (!state.healthy && started > state.downSince) this.#restore(i, 'connection');
  }

  #restore(i: number, by: 'probe' | 'connection'): void {
    const state = this.#states[i]!;
    if (state.healthy) return;
    this.#checks.stop(i);
    state.healthy = true;
    state.failures = 0;
    state.reason = '';
    if (failoverChannels.endpointHealthy.hasSubscribers) {
      failoverChannels.endpointHealthy.publish({ ...this.endpoints[i]!.ref, downMs: now() - state.downSince, by });
    }
    this.#settleActive();
  }

  /**
   * A probe of endpoint `i` ended (`err` undefined: it answered). For an unhealthy endpoint a
   * success restores it and a failure schedules the next probe; for a healthy one (the periodic
   * check, a suspicion) a failure marks it unhealthy.
   */
  #checked(i: number, err: unknown): void {
    const state = this.#states[i]!;
    if (state.healthy) {
      if (err !== undefined) this.reportFailure(this.endpoints[i]!, err);
      return;
    }
    if (err === undefined) return this.#restore(i, 'probe');
    state.failures++;
    const delay = this.#checks.backoff(i, state.failures);
    this.#options.stats?.endpointUnhealthy();
    if (failoverChannels.endpointUnhealthy.hasSubscribers) {
      const { reason, sqlstate } = reasonOf(err);
      failoverChannels.endpointUnhealthy.publish({ ...this.endpoints[i]!.ref, reason, sqlstate, failures: state.failures, nextProbeMs: delay });
    }
  }
}
