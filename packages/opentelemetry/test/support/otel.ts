import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { DsqlInstrumentation } from '../../src/index.js';

/** A reader the test collects from when it wants (no export interval, no timing). */
export class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** One metric point as the tests read it. */
export interface Point {
  name: string;
  attributes: Record<string, unknown>;
  /** A counter's value, or a histogram's count. */
  value: number;
}

/**
 * The real OpenTelemetry SDK (metrics and traces, in memory) with a `DsqlInstrumentation`
 * registered through `registerInstrumentations`, as an application would.
 */
export class Observed {
  readonly reader = new CollectingReader();
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });
  readonly exporter = new InMemorySpanExporter();
  readonly tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.exporter)] });
  readonly instrumentation = new DsqlInstrumentation();
  readonly #unregister = registerInstrumentations({
    instrumentations: [this.instrumentation],
    meterProvider: this.meterProvider,
    tracerProvider: this.tracerProvider,
  });

  async points(): Promise<Point[]> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) throw new Error(`metric collection failed: ${errors.map(String).join('; ')}`);
    return resourceMetrics.scopeMetrics.flatMap((scope) =>
      scope.metrics.flatMap((metric) =>
        (metric.dataPoints as DataPoint<number | Histogram>[]).map((p) => ({
          name: metric.descriptor.name,
          attributes: { ...p.attributes },
          value: typeof p.value === 'number' ? p.value : p.value.count,
        })),
      ),
    );
  }

  /** `{ [value of attribute key]: total }` of one metric (`'*'` when the metric has no such attribute). */
  async by(name: string, key?: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const p of await this.points()) {
      if (p.name !== name) continue;
      const k = key === undefined ? '*' : String(p.attributes[key] ?? '*');
      out[k] = (out[k] ?? 0) + p.value;
    }
    return out;
  }

  /** Waits (bounded) until `check` holds for the metric's counts; fails saying what was awaited. */
  async until(name: string, key: string, check: (counts: Record<string, number>) => boolean, what: string, ms = 20_000): Promise<Record<string, number>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const counts = await this.by(name, key);
      if (check(counts)) return counts;
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; ${name} by ${key}: ${JSON.stringify(counts)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  spans(name?: string): ReadableSpan[] {
    return this.exporter.getFinishedSpans().filter((s) => name === undefined || s.name === name);
  }

  /** Everything exported so far, as text: metric names and attributes, span names, attributes and events. */
  async exportedText(): Promise<string> {
    const spans = this.spans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })), status: s.status }));
    return JSON.stringify({ points: await this.points(), spans });
  }

  async stop(): Promise<void> {
    this.#unregister();
    this.instrumentation.disable();
    await this.meterProvider.shutdown();
    await this.tracerProvider.shutdown();
  }
}
