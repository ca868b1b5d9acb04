// Instrumentation overhead: steady throughput of each connector with nobody subscribed to
// @dsql/core's diagnostics channels and with DsqlInstrumentation (@dsql/opentelemetry) registered
// on the real OpenTelemetry SDK, side by side against the plain driver. Two workloads, 16 callers
// on a warm pool of 8: `SELECT 1` (no connector event on this path: the pool is warm) and one
// transaction per call running `SELECT 1` (three events per call while instrumented: start, attempt,
// end → a metric point, a span with an event).
//
// Subscribing is process-wide, so the instrumented candidate is its own pool and the
// instrumentation is enabled only around its rounds (InstrumentationBase's enable()/disable());
// every other round checks that no core channel has a subscriber. What each side has: the SDK's
// providers exist for the whole run on both sides, handed to registerInstrumentations only (no
// global provider, no context manager: context.active() is the root context on both sides), so a
// round without the instrumentation runs no SDK code; an instrumented round's ratio is ours plus
// the SDK's recording. Toggling per round costs nothing measurable (a no-op subscriber switched
// the same way: 0.99–1.02× CPU, bench/results-instrumentation.md), and the pool is not the
// difference (two uninstrumented pools of the same connector: within ±3 %).
import diagnosticsChannel from 'node:diagnostics_channel';
import { DSQL_CHANNELS } from '@dsql/core';
import { DsqlInstrumentation, DSQL_METRICS } from '@dsql/opentelemetry';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createCandidate, presignedToken } from '../lib/candidates.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, int, median, medianRatio, ms, percentile, times } from '../lib/measure.mjs';

export const id = 'instrumentation';
export const title = 'Diagnostics and DsqlInstrumentation overhead (steady throughput)';

const OTEL = ' + otel';
const METRICS_ONLY = ' + otel metrics';
const INSTRUMENTED = [OTEL, METRICS_ONLY];
const instrumentedAs = (name) => INSTRUMENTED.find((suffix) => name.endsWith(suffix));
/**
 * Per family: the plain driver (the baseline), the connector, the connector instrumented
 * (metrics and spans, the default), the connector instrumented with `spans: false`.
 */
const FAMILIES = [
  ['pg.Pool', 'DsqlPool', `DsqlPool${OTEL}`, `DsqlPool${METRICS_ONLY}`],
  ['postgres()', 'dsql()', `dsql()${OTEL}`, `dsql()${METRICS_ONLY}`],
];
const WORKLOADS = [
  { id: 'select', label: 'SELECT 1', call: (c) => c.query() },
  { id: 'transaction', label: 'transaction (SELECT 1)', call: (c) => c.transact() },
];

/** A reader collected once at the end (no export interval: nothing runs during the rounds but the recording). */
class CollectingReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

/** A span exporter that only counts (the BatchSpanProcessor's queue, batching and export still run). */
class CountingSpanExporter {
  spans = 0;
  export(spans, done) {
    this.spans += spans.length;
    done({ code: 0 });
  }
  async shutdown() {}
  async forceFlush() {}
}

function subscribed() {
  return Object.values(DSQL_CHANNELS).filter((name) => diagnosticsChannel.channel(name).hasSubscribers);
}

/**
 * Runs `callers` loops of `call(candidate)` for `seconds`: calls per second, latency percentiles,
 * and this process's CPU time per call (user + system; the emulator runs in another process).
 * On a machine shared with other work, wall-clock throughput swings with their load; CPU per call
 * is the client's own cost and barely moves, so it carries the overhead ratio.
 */
async function load(call, candidate, callers, seconds) {
  const latencies = [];
  const cpu = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await call(candidate);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  const n = latencies.length;
  return { qps: n / seconds, cpuUs: (used.user + used.system) / n, p50: percentile(latencies, 50), p99: percentile(latencies, 99), n };
}

export async function run({ quick, log }) {
  // Many short rounds: the two sides of a ratio run back to back, so load from other processes
  // (which changes on a scale of seconds) hits both alike, and the median of per-round ratios drops the outliers.
  const rounds = quick ? 2 : 15;
  const seconds = quick ? 0.3 : 0.6;
  const callers = 16;
  const max = 8;
  const emu = await startEmulator();
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new CountingSpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spanExporter)] });
  const instrumentation = new DsqlInstrumentation();
  const unregister = registerInstrumentations({ instrumentations: [instrumentation], meterProvider, tracerProvider });
  instrumentation.disable(); // enabled only around the instrumented candidate's rounds
  const candidates = {};
  try {
    const token = await presignedToken(emu);
    const names = FAMILIES.flat();
    for (const name of names) candidates[name] = await createCandidate(name.replace(instrumentedAs(name) ?? '', ''), emu, { max, token });
    const measure = async (workload, name, secs = seconds) => {
      const instrumented = instrumentedAs(name) !== undefined;
      if (instrumented) {
        instrumentation.setConfig({ spans: instrumentedAs(name) === OTEL });
        instrumentation.enable();
      } else if (subscribed().length > 0) throw new Error(`${name} must run with no subscriber, but ${subscribed().join(', ')} have one`);
      try {
        return await load(workload.call, candidates[name], callers, secs);
      } finally {
        if (instrumented) instrumentation.disable();
      }
    };
    const table = [];
    for (const workload of WORKLOADS) {
      log(`  ${workload.label}`);
      for (const name of names) await measure(workload, name, quick ? 0.2 : 1); // warm up: connections, JIT
      const perRound = await alternate(names, rounds, (name) => measure(workload, name));
      for (const family of FAMILIES) {
        const [driver, plain] = family;
        for (const name of family) {
          const r = perRound[name];
          const row = {
            workload: workload.id,
            name,
            qps: median(r.map((x) => x.qps)),
            ratio: medianRatio(perRound, name, driver, (x) => x.qps),
            vsUninstrumented: instrumentedAs(name) ? medianRatio(perRound, name, plain, (x) => x.qps) : undefined,
            cpuUs: median(r.map((x) => x.cpuUs)),
            // Calls per CPU second relative to the driver's (its CPU per call over ours), per round, median.
            cpuRatio: medianRatio(perRound, driver, name, (x) => x.cpuUs),
            cpuVsUninstrumented: instrumentedAs(name) ? medianRatio(perRound, plain, name, (x) => x.cpuUs) : undefined,
            p50: median(r.map((x) => x.p50)),
            p99: median(r.map((x) => x.p99)),
            rounds: r.map((x) => Math.round(x.qps)),
            baseline: driver,
          };
          table.push(row);
          const extra = row.vsUninstrumented === undefined ? '' : ` (${times(row.vsUninstrumented)} ${plain})`;
          const cpuExtra = row.cpuVsUninstrumented === undefined ? '' : ` (${times(row.cpuVsUninstrumented)} ${plain})`;
          log(
            `    ${name.padEnd(16)} ${int(row.qps).padStart(7)} q/s  ${times(row.ratio)} ${driver}${extra}  ` +
              `CPU ${row.cpuUs.toFixed(1)} µs/call  ${times(row.cpuRatio)} ${driver}${cpuExtra}  p50 ${ms(row.p50)} ms  p99 ${ms(row.p99)} ms`,
          );
        }
      }
    }
    // Proof that the instrumented rounds recorded: transactions counted, spans exported.
    await tracerProvider.forceFlush();
    const { resourceMetrics } = await reader.collect();
    const attempts = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === DSQL_METRICS.transactionAttempts)
      .flatMap((m) => m.dataPoints)
      .reduce((a, p) => a + p.value, 0);
    if (!(attempts > 0) || !(spanExporter.spans > 0)) throw new Error(`the instrumented rounds recorded nothing (transaction attempts ${attempts}, spans ${spanExporter.spans})`);
    log(`  instrumented rounds recorded ${int(attempts)} transaction attempts and exported ${int(spanExporter.spans)} spans`);
    return {
      setup: `${rounds} rounds × ${seconds} s per candidate and workload, ${callers} callers, pool max ${max}, warm pools; \`+ otel\`: DsqlInstrumentation on the OpenTelemetry SDK (MeterProvider, BasicTracerProvider with a BatchSpanProcessor), \`+ otel metrics\`: the same with \`spans: false\`; enabled only during their own rounds; every other round checked to have no subscriber on core's channels; the SDK's providers exist on both sides (not global, no context manager), recording only in instrumented rounds`,
      columns: ['workload', 'candidate', 'median q/s', 'q/s vs plain driver', 'q/s vs no subscriber', 'client CPU µs/call', 'calls per CPU s vs plain driver', 'vs no subscriber', 'p50 ms', 'p99 ms', 'q/s per round'],
      rows: table.map((r) => [
        r.workload,
        r.name,
        int(r.qps),
        `${times(r.ratio)} ${r.baseline}`,
        r.vsUninstrumented === undefined ? '' : times(r.vsUninstrumented),
        r.cpuUs.toFixed(1),
        `${times(r.cpuRatio)} ${r.baseline}`,
        r.cpuVsUninstrumented === undefined ? '' : times(r.cpuVsUninstrumented),
        ms(r.p50),
        ms(r.p99),
        r.rounds.join(' '),
      ]),
      data: table,
    };
  } finally {
    await Promise.all(Object.values(candidates).map((c) => c.end().catch(() => undefined)));
    unregister();
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
    await emu.stop();
  }
}
