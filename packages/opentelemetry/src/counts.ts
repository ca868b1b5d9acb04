/**
 * Counts kept by the instrumentation and reported by an observable counter when the SDK collects.
 *
 * Why not a synchronous `Counter.add` per event: the SDK hashes the attribute set on every record
 * (`hashAttributes`: the keys sorted, then `JSON.stringify`), 1–2 µs in a warm micro-loop and about
 * 5 µs per record in the bench's `transaction()` workload, where the code runs cold between calls
 * (CPU profile, bench/results-instrumentation.md). `transaction()` publishes on every call, so its
 * counters are counted here instead: one lookup in maps keyed by the strings core hands over (the
 * same string objects every time), the attribute object built once per series. The exported
 * series is the same monotonic sum.
 */
import type { Attributes, ObservableResult } from '@opentelemetry/api';

/**
 * Series kept at most per counter, as the SDK's default cardinality limit for a synchronous
 * counter (2000); further attribute sets are counted in one overflow series carrying
 * `otel.metric.overflow: true`, the SDK's own convention. Endpoints are few in practice; the bound
 * keeps a process that talks to very many clusters from growing these maps without end.
 */
export const MAX_SERIES = 2000;

interface Series {
  readonly attributes: Attributes;
  value: number;
}

/**
 * Monotonic counts by endpoint, Region and outcome (any may be absent), observed at collection.
 *
 * @example
 * const counts = new CountsByEndpoint('outcome');
 * counts.add(m.endpoint, m.region, m.outcome);
 * observableCounter.addCallback((result) => counts.observe(result));
 */
export class CountsByEndpoint {
  private readonly series = new Map<string | undefined, Map<string | undefined, Map<string | undefined, Series>>>();
  private size = 0;
  private readonly overflow: Series = { attributes: { 'otel.metric.overflow': true }, value: 0 };

  /** `outcomeKey`: the attribute name the third value is reported under (none when the counter has no such attribute). */
  constructor(private readonly outcomeKey?: string) {}

  /** Counts one event. */
  add(endpoint: string | undefined, region: string | undefined, outcome?: string): void {
    const series = this.series.get(endpoint)?.get(region)?.get(outcome);
    if (series !== undefined) {
      series.value++;
      return;
    }
    if (this.size >= MAX_SERIES) {
      this.overflow.value++;
      return;
    }
    this.size++;
    let byRegion = this.series.get(endpoint);
    if (byRegion === undefined) this.series.set(endpoint, (byRegion = new Map()));
    let byOutcome = byRegion.get(region);
    if (byOutcome === undefined) byRegion.set(region, (byOutcome = new Map()));
    const attributes: Attributes = endpoint === undefined ? {} : { endpoint, region };
    if (this.outcomeKey !== undefined && outcome !== undefined) attributes[this.outcomeKey] = outcome;
    byOutcome.set(outcome, { attributes, value: 1 });
  }

  /** Reports every series counted so far (cumulative totals). */
  observe(result: ObservableResult): void {
    for (const byRegion of this.series.values()) {
      for (const byOutcome of byRegion.values()) {
        for (const { attributes, value } of byOutcome.values()) result.observe(value, attributes);
      }
    }
    if (this.overflow.value > 0) result.observe(this.overflow.value, this.overflow.attributes);
  }
}
