// The health checks of the router's endpoints (endpoint-router.ts): when each endpoint is probed —
// on the backoff of an unhealthy one, periodically (`probe.intervalMs`), and at once when one of
// its statements went unanswered for `probe.suspectAfterMs` (silent-statements.ts) — and running
// one probe, bounded by `probe.timeoutMs`. What an outcome means for the endpoint's health is the
// router's: it gets every outcome through `EndpointCheckHost.checked`.
import type { ResolvedEndpointProbe } from '../config/options.js';
import type { EndpointProbe, RoutedEndpoint } from './endpoint-health.js';
import { SilentStatements, type StatementWatch } from './silent-statements.js';

/** What the checks need to know of the router. */
export interface EndpointCheckHost {
  /** The router was closed: nothing is probed or scheduled any more. */
  closed(): boolean;
  /** Whether endpoint `i` is healthy now. */
  healthy(i: number): boolean;
  /**
   * A probe of endpoint `i` ended: `err` undefined on success. Also called with `undefined`
   * when an unhealthy endpoint's backoff ran out and no probe is registered (half-open).
   */
  checked(i: number, err: unknown): void;
}

interface Slot {
  /** The next probe of an unhealthy endpoint (its backoff). */
  backoff: ReturnType<typeof setTimeout> | undefined;
  /** The periodic health check's timer (every endpoint, healthy ones included). */
  check: ReturnType<typeof setTimeout> | undefined;
  /** The probe in flight (one at most). */
  probing: AbortController | undefined;
  /** Its connections' outstanding statements (`probe.suspectAfterMs`), with several endpoints. */
  silent: SilentStatements | undefined;
}

const now = (): number => performance.now();

/**
 * Schedules and runs the probes of a router's endpoints: never more than one in flight per
 * endpoint; delays drawn uniformly from 75–125 % of their nominal value (endpoints and processes
 * do not probe in step); timers unref'd (they never keep a process alive).
 *
 * @example
 * const checks = new EndpointChecks(endpoints, probeOptions, Math.random, host);
 * checks.use((endpoint, signal) => connectOnce(endpoint, signal));
 */
export class EndpointChecks<E extends RoutedEndpoint> {
  readonly #endpoints: readonly E[];
  readonly #options: ResolvedEndpointProbe;
  readonly #random: () => number;
  readonly #host: EndpointCheckHost;
  readonly #slots: Slot[];
  #probe: EndpointProbe<E> | undefined;

  constructor(endpoints: readonly E[], options: ResolvedEndpointProbe, random: () => number, host: EndpointCheckHost) {
    this.#endpoints = endpoints;
    this.#options = options;
    this.#random = random;
    this.#host = host;
    const suspectAfterMs = options.suspectAfterMs ?? 0;
    this.#slots = endpoints.map((_, i) => ({
      backoff: undefined,
      check: undefined,
      probing: undefined,
      // One endpoint: no failover target, so a slow answer there is only waited for (as before).
      silent: endpoints.length > 1 && suspectAfterMs > 0 ? new SilentStatements(suspectAfterMs, options.intervalMs, () => this.#suspect(i)) : undefined,
    }));
  }

  /** A watch of one connection's statements to endpoint `i` (see `EndpointRouter.watchStatements`). */
  watch(i: number): StatementWatch | undefined {
    return this.#slots[i]?.silent?.watch();
  }

  /** Registers the probe (the first registration wins) and, with several endpoints, starts the periodic checks. */
  use(probe: EndpointProbe<E>): void {
    if (this.#probe !== undefined) return;
    this.#probe = probe;
    if (this.#endpoints.length > 1 && !this.#host.closed()) this.#endpoints.forEach((_, i) => this.#scheduleCheck(i));
  }

  /**
   * Schedules the next probe of unhealthy endpoint `i`, after `probe.baseDelayMs` doubled per
   * failure (`failures`, from 1) up to `probe.maxDelayMs`, jittered; returns its delay.
   */
  backoff(i: number, failures: number): number {
    const slot = this.#slots[i]!;
    const { baseDelayMs, maxDelayMs } = this.#options;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures - 1, 30));
    const delay = Math.round(ceiling * (0.75 + 0.5 * this.#random()));
    if (slot.backoff) clearTimeout(slot.backoff);
    slot.backoff = setTimeout(() => {
      slot.backoff = undefined;
      this.#runProbe(i);
    }, delay);
    slot.backoff.unref?.();
    return delay;
  }

  /** Endpoint `i` was restored: its backoff is cancelled and a probe in flight abandoned. */
  stop(i: number): void {
    const slot = this.#slots[i]!;
    if (slot.backoff) clearTimeout(slot.backoff);
    slot.backoff = undefined;
    const probing = slot.probing;
    slot.probing = undefined;
    probing?.abort();
  }

  /** The router closed: every timer cleared, every probe abandoned. */
  close(): void {
    for (const s of this.#slots) {
      if (s.backoff) clearTimeout(s.backoff);
      if (s.check) clearTimeout(s.check);
      s.backoff = s.check = undefined;
      s.silent?.close();
      s.probing?.abort();
    }
  }

  /**
   * A statement on endpoint `i` went unanswered too long: probe it now, unless a probe already
   * runs (its outcome answers the suspicion too). `false` when no probe will report back: the
   * endpoint is already unhealthy (its probe is on its backoff), no probe is registered, or closed.
   */
  #suspect(i: number): boolean {
    if (this.#host.closed() || !this.#host.healthy(i) || this.#probe === undefined) return false;
    if (!this.#slots[i]!.probing) this.#probeNow(i);
    return true;
  }

  /** The next periodic health check of endpoint `i`, jittered (75–125 % of `intervalMs`). */
  #scheduleCheck(i: number): void {
    const slot = this.#slots[i]!;
    const delay = Math.round(this.#options.intervalMs * (0.75 + 0.5 * this.#random()));
    slot.check = setTimeout(() => {
      slot.check = undefined;
      if (this.#host.closed()) return;
      // An unhealthy endpoint is already probed on its backoff; one probe in flight at most.
      if (this.#host.healthy(i) && !slot.probing) this.#probeNow(i);
      this.#scheduleCheck(i);
    }, delay);
    slot.check.unref?.();
  }

  #runProbe(i: number): void {
    if (this.#host.closed() || this.#host.healthy(i) || this.#slots[i]!.probing) return;
    // No probe registered: half-open, the next connection tries it (and a failure re-opens it).
    if (this.#probe === undefined) return this.#host.checked(i, undefined);
    this.#probeNow(i);
  }

  /** Runs the probe on endpoint `i`, abandoned after `timeoutMs`; the router gets its outcome. */
  #probeNow(i: number): void {
    const slot = this.#slots[i]!;
    const probe = this.#probe!;
    const controller = new AbortController();
    const started = now();
    slot.probing = controller;
    const timeout = setTimeout(
      () => controller.abort(Object.assign(new Error('endpoint probe timed out'), { code: 'ETIMEDOUT' })),
      this.#options.timeoutMs,
    );
    timeout.unref?.();
    let settled = false;
    const settle = (err: unknown): void => {
      clearTimeout(timeout);
      if (settled) return; // the abort and the probe's own outcome both arrive
      settled = true;
      if (slot.probing === controller) {
        // Not restored (stop) meanwhile.
        slot.probing = undefined;
        if (!this.#host.closed()) this.#host.checked(i, err);
      }
      // Answers a suspicion whatever became of the endpoint meanwhile (marked down by a connection,
      // restored, closed): a suspicion left unanswered would never be raised again. A success also
      // says the endpoint answered at `started`.
      slot.silent?.probed(err === undefined, started);
    };
    // A probe that ignores its signal is abandoned when the timeout fires (a blackholed endpoint never answers).
    controller.signal.addEventListener('abort', () => settle(controller.signal.reason ?? new Error('endpoint probe aborted')), { once: true });
    let result: Promise<void>;
    try {
      result = Promise.resolve(probe(this.#endpoints[i]!, controller.signal));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      () => settle(undefined),
      (err: unknown) => settle(err ?? new Error('probe failed')),
    );
  }
}
