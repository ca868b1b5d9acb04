// What registering DsqlInstrumentation costs a transaction(), one cause at a time: every variant
// runs on the same pool of one connector, in one process, rounds interleaved, so a ratio differs
// from 1 only by what the variant has subscribed during its rounds. Not part of the default run
// (`node run.mjs instrumentation-causes`); bench/results-instrumentation.md explains the findings.
//
//   no subscriber         the baseline of every ratio
//   another pool          a second pool of the same connector, no subscriber (A/A: the scenario's
//                         instrumented candidates are pools of their own)
//   no-op subscriber      a function that does nothing, on core's three transaction channels
//                         (subscribed and unsubscribed around each round, as the scenario does)
//   SDK Counter.add       a subscriber making the synchronous counter call the instrumentation
//                         made per attempt before it counted in-process
//   SDK span              a subscriber making only the SDK's span calls (startSpan, addEvent,
//                         setAttributes, end) with the instrumentation's attributes
//   otel metrics / otel   DsqlInstrumentation with `spans: false` / with spans (the default)
import diagnosticsChannel from 'node:diagnostics_channel';
import { SpanKind } from '@opentelemetry/api';
import { DSQL_CHANNELS } from '@dsql/core';
import { DsqlInstrumentation } from '@dsql/opentelemetry';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createCandidate, presignedToken } from '../lib/candidates.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, int, median, medianRatio, times } from '../lib/measure.mjs';

export const id = 'instrumentation-causes';
export const title = 'What DsqlInstrumentation costs a transaction(), one cause at a time';

class CollectingReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
class NullSpanExporter {
  export(spans, done) {
    done({ code: 0 });
  }
  async shutdown() {}
  async forceFlush() {}
}

/** `[channel, listener]` pairs subscribed during a variant's rounds only. */
function subscriptions(pairs) {
  return {
    on: () => pairs.forEach(([name, fn]) => diagnosticsChannel.subscribe(name, fn)),
    off: () => pairs.forEach(([name, fn]) => diagnosticsChannel.unsubscribe(name, fn)),
  };
}

/** The scenario's load loop: client CPU per call (user + system), calls per second. */
async function load(candidate, callers, seconds) {
  let n = 0;
  const cpu = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        await candidate.transact();
        n++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { qps: n / seconds, cpuUs: (used.user + used.system) / n };
}

export async function run({ quick, log }) {
  const rounds = quick ? 2 : 15;
  const seconds = quick ? 0.3 : 0.6;
  const callers = 16;
  const emu = await startEmulator();
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new NullSpanExporter())] });
  const instrumentation = new DsqlInstrumentation();
  const unregister = registerInstrumentations({ instrumentations: [instrumentation], meterProvider, tracerProvider });
  instrumentation.disable();
  const counter = meterProvider.getMeter('bench').createCounter('bench.transaction.attempts');
  const tracer = tracerProvider.getTracer('bench');
  const open = new Map();
  const noop = () => {};
  const variants = {
    'no subscriber': { on: noop, off: noop },
    'another pool': { on: noop, off: noop, other: true },
    'no-op subscriber': subscriptions([DSQL_CHANNELS.transactionStart, DSQL_CHANNELS.transactionAttempt, DSQL_CHANNELS.transactionEnd].map((name) => [name, noop])),
    'SDK Counter.add': subscriptions([[DSQL_CHANNELS.transactionAttempt, (m) => counter.add(1, { endpoint: m.endpoint, region: m.region, outcome: m.outcome })]]),
    'SDK span': subscriptions([
      [DSQL_CHANNELS.transactionStart, (m) => open.set(m.transactionId, tracer.startSpan('dsql.transaction', { kind: SpanKind.CLIENT, attributes: { 'server.address': m.endpoint, 'cloud.region': m.region } }))],
      [DSQL_CHANNELS.transactionAttempt, (m) => open.get(m.transactionId)?.addEvent('dsql.transaction.attempt', { 'dsql.transaction.attempt': m.attempt, 'dsql.transaction.outcome': m.outcome, 'dsql.duration_ms': m.durationMs })],
      [
        DSQL_CHANNELS.transactionEnd,
        (m) => {
          const span = open.get(m.transactionId);
          open.delete(m.transactionId);
          span?.setAttributes({ 'dsql.transaction.attempts': m.attempts, 'dsql.transaction.outcome': m.outcome });
          span?.end();
        },
      ],
    ]),
    'otel metrics': { on: () => (instrumentation.setConfig({ spans: false }), instrumentation.enable()), off: () => instrumentation.disable() },
    otel: { on: () => (instrumentation.setConfig({ spans: true }), instrumentation.enable()), off: () => instrumentation.disable() },
  };
  const names = Object.keys(variants);
  const rows = [];
  const pools = [];
  try {
    const token = await presignedToken(emu);
    for (const connector of ['DsqlPool', 'dsql()']) {
      const pool = await createCandidate(connector, emu, { max: 8, token });
      pools.push(pool);
      const other = await createCandidate(connector, emu, { max: 8, token });
      pools.push(other);
      const measure = async (name, secs = seconds) => {
        const v = variants[name];
        v.on();
        try {
          return await load(v.other ? other : pool, callers, secs);
        } finally {
          v.off();
        }
      };
      for (const name of names) await measure(name, quick ? 0.2 : 1); // warm up
      const perRound = await alternate(names, rounds, (name) => measure(name));
      log(`  ${connector}`);
      for (const name of names) {
        const row = {
          connector,
          name,
          qps: median(perRound[name].map((x) => x.qps)),
          cpuUs: median(perRound[name].map((x) => x.cpuUs)),
          cpuRatio: medianRatio(perRound, 'no subscriber', name, (x) => x.cpuUs),
          qpsRatio: medianRatio(perRound, name, 'no subscriber', (x) => x.qps),
        };
        rows.push(row);
        log(`    ${name.padEnd(18)} ${int(row.qps).padStart(6)} tx/s  CPU ${row.cpuUs.toFixed(1)} µs/call  ${times(row.cpuRatio)} calls per CPU-second, ${times(row.qpsRatio)} tx/s of no subscriber`);
      }
    }
    return {
      setup: `${rounds} rounds × ${seconds} s per variant, ${callers} callers, one warm pool of 8 per connector (plus "another pool"), one \`transaction()\` running \`SELECT 1\` per call; ratios against "no subscriber" on the same pool (median of per-round ratios)`,
      columns: ['connector', 'variant', 'median tx/s', 'client CPU µs/call', 'calls per CPU s vs no subscriber', 'tx/s vs no subscriber'],
      rows: rows.map((r) => [r.connector, r.name, int(r.qps), r.cpuUs.toFixed(1), times(r.cpuRatio), times(r.qpsRatio)]),
      data: rows,
    };
  } finally {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    unregister();
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
    await emu.stop();
  }
}
