import { readFileSync } from 'node:fs';
import { channel } from 'node:diagnostics_channel';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { DSQL_CHANNELS, DSQL_FAILOVER_CHANNELS, createDsqlSession, registerDsqlPool, runTransaction, unregisterDsqlPool, type TransactionDriver } from '@dsql/core';
import { DsqlInstrumentation, DSQL_METRICS, VERSION } from '../src/index.js';
import { AggregationTemporality, DataPointType, MeterProvider } from '@opentelemetry/sdk-metrics';
import { CollectingReader, Observed } from './support/otel.js';

const occ = (): Error => Object.assign(new Error('change conflicts with another transaction, please retry: (OC000)'), { code: '40001' });

/** A driver that answers COMMIT from a script: stands in for a database; the instrumentation is under test. */
function driver(commits: Array<Error | string>): TransactionDriver<number> {
  return {
    connect: async () => 1,
    begin: async () => {},
    commit: async () => {
      const next = commits.shift() ?? 'COMMIT';
      if (next instanceof Error) throw next;
      return next;
    },
    rollback: async () => {},
    release: async () => {},
  };
}
const fast = { baseDelayMs: 0, maxDelayMs: 0 };

describe('DsqlInstrumentation', () => {
  test('VERSION matches package.json; the scope is @dsql/opentelemetry', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    const instrumentation = new DsqlInstrumentation({ enabled: false });
    expect(instrumentation.instrumentationName).toBe('@dsql/opentelemetry');
    expect(instrumentation.instrumentationVersion).toBe(VERSION);
  });

  test('db.client.connection.count: pools of the same name summed; a name whose pools ended reads 0', async () => {
    const host = 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws';
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-real-secret' };
    const session = createDsqlSession({ host, credentials });
    const counts = (idle: number, used: number, pending: number | null) => () => ({ open: idle + used, idle, used, pending });
    const a = {};
    const b = {};
    registerDsqlPool(a, session, counts(2, 1, 3));
    registerDsqlPool(b, session, counts(1, 0, null));
    const observed = new Observed();
    try {
      const name = `${host}:5432/postgres`;
      const mine = async (metric: string) => (await observed.points()).filter((p) => p.name === metric && p.attributes['db.client.connection.pool.name'] === name);
      expect((await mine(DSQL_METRICS.connectionCount)).map((p) => [p.attributes['db.client.connection.state'], p.value])).toEqual([
        ['idle', 3],
        ['used', 1],
      ]);
      expect((await mine(DSQL_METRICS.connectionPendingRequests)).map((p) => p.value)).toEqual([3]);
      unregisterDsqlPool(a);
      expect((await mine(DSQL_METRICS.connectionCount)).map((p) => [p.attributes['db.client.connection.state'], p.value])).toEqual([
        ['idle', 1],
        ['used', 0],
      ]);
      // Every pool of the name ended: 0, not the last value.
      unregisterDsqlPool(b);
      expect((await mine(DSQL_METRICS.connectionCount)).map((p) => [p.attributes['db.client.connection.state'], p.value])).toEqual([
        ['idle', 0],
        ['used', 0],
      ]);
      expect((await mine(DSQL_METRICS.connectionPendingRequests)).map((p) => p.value)).toEqual([0]);
    } finally {
      unregisterDsqlPool(a);
      await observed.stop();
    }
  });

  test('subscribes while enabled, once however often enabled; disable unsubscribes', async () => {
    const observed = new Observed();
    try {
      expect(channel(DSQL_CHANNELS.transactionAttempt).hasSubscribers).toBe(true);
      observed.instrumentation.enable(); // registerInstrumentations already enabled it
      await runTransaction(driver([occ()]), async () => 1, fast);
      expect(await observed.by(DSQL_METRICS.transactionAttempts, 'outcome')).toEqual({ occ_conflict: 1, committed: 1 });
      expect(observed.spans('dsql.transaction')).toHaveLength(1);
      observed.instrumentation.disable();
      await runTransaction(driver([]), async () => 1, fast);
      expect(await observed.by(DSQL_METRICS.transactionAttempts, 'outcome')).toEqual({ occ_conflict: 1, committed: 1 });
      expect(channel(DSQL_CHANNELS.transactionAttempt).hasSubscribers).toBe(false);
    } finally {
      await observed.stop();
    }
  });

  test('duration histograms are in seconds with second-sized buckets (not the SDK default for milliseconds)', async () => {
    const observed = new Observed();
    try {
      const where = { endpoint: 'aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-1.on.aws', region: 'us-east-1', port: 5432, user: 'admin' };
      channel(DSQL_CHANNELS.connectRateLimitWait).publish({ ...where, attemptId: -1, waitMs: 200 });
      channel(DSQL_CHANNELS.connectEnd).publish({ ...where, attemptId: -1, outcome: 'ok', reason: undefined, sqlstate: undefined, durationMs: 60, rateLimitWaitMs: 200, connectionId: -1 });
      const { resourceMetrics } = await observed.reader.collect();
      const histogram = (name: string) => {
        const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
        return (metric?.dataPoints[0]?.value ?? {}) as { buckets?: { boundaries: number[]; counts: number[] }; sum?: number };
      };
      const boundaries = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
      const create = histogram(DSQL_METRICS.connectionCreateTime);
      expect(create.buckets?.boundaries).toEqual(boundaries);
      expect(create.sum).toBeCloseTo(0.06);
      expect(create.buckets?.counts).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0]); // (0.05, 0.1]
      const wait = histogram(DSQL_METRICS.connectRateLimitWait);
      expect(wait.buckets?.boundaries).toEqual(boundaries);
      expect(wait.buckets?.counts).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0]); // (0.1, 0.5]
    } finally {
      await observed.stop();
    }
  });

  test('transaction counters: one series per endpoint, Region and outcome, exported as monotonic sums; a new meter starts at 0', async () => {
    const observed = new Observed();
    try {
      const east = { endpoint: 'aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-1.on.aws', region: 'us-east-1' };
      const west = { endpoint: 'bbbbbbbbbbbbbbbbbbbbbbbbbb.dsql.us-west-2.on.aws', region: 'us-west-2' };
      const attempt = (where: object, outcome: string) =>
        channel(DSQL_CHANNELS.transactionAttempt).publish({ transactionId: -1, ...where, attempt: 1, outcome, errorKind: undefined, sqlstate: undefined, durationMs: 1 });
      for (const outcome of ['occ_conflict', 'committed', 'committed', 'commit_unknown']) attempt(east, outcome);
      attempt(west, 'occ_conflict');
      attempt({}, 'committed'); // a pool with several endpoints: no endpoint attribute
      const series = async (name: string) =>
        (await observed.points())
          .filter((p) => p.name === name)
          .map((p) => [p.attributes.endpoint ?? '-', p.attributes.region ?? '-', p.attributes.outcome ?? '-', p.value])
          .sort((a, b) => String(a).localeCompare(String(b)));
      expect(await series(DSQL_METRICS.transactionAttempts)).toEqual([
        ['-', '-', 'committed', 1],
        [east.endpoint, east.region, 'commit_unknown', 1],
        [east.endpoint, east.region, 'committed', 2],
        [east.endpoint, east.region, 'occ_conflict', 1],
        [west.endpoint, west.region, 'occ_conflict', 1],
      ]);
      expect(await series(DSQL_METRICS.occConflicts)).toEqual([
        [east.endpoint, east.region, '-', 1],
        [west.endpoint, west.region, '-', 1],
      ]);
      expect(await series(DSQL_METRICS.commitUnknown)).toEqual([[east.endpoint, east.region, '-', 1]]);
      attempt(east, 'committed');
      expect((await series(DSQL_METRICS.transactionAttempts)).find((s) => s[0] === east.endpoint && s[2] === 'committed')).toEqual([east.endpoint, east.region, 'committed', 3]);
      // What an exporter sees: a cumulative monotonic sum, as from a synchronous counter.
      const { resourceMetrics } = await observed.reader.collect();
      const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === DSQL_METRICS.transactionAttempts);
      expect(metric).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: true, aggregationTemporality: AggregationTemporality.CUMULATIVE });
      // A new meter provider: its counters start at 0, as a synchronous counter of the new meter would.
      const reader = new CollectingReader();
      observed.instrumentation.setMeterProvider(new MeterProvider({ readers: [reader] }));
      attempt(west, 'committed');
      const fresh = (await reader.collect()).resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === DSQL_METRICS.transactionAttempts);
      expect(fresh?.dataPoints.map((p) => [p.attributes.endpoint, p.attributes.outcome, p.value])).toEqual([[west.endpoint, 'committed', 1]]);
    } finally {
      await observed.stop();
    }
  });

  test('{ enabled: false } subscribes to nothing until enable()', () => {
    const instrumentation = new DsqlInstrumentation({ enabled: false });
    expect(channel(DSQL_CHANNELS.connectEnd).hasSubscribers).toBe(false);
    instrumentation.enable();
    expect(channel(DSQL_CHANNELS.connectEnd).hasSubscribers).toBe(true);
    instrumentation.disable();
    expect(channel(DSQL_CHANNELS.connectEnd).hasSubscribers).toBe(false);
  });

  test('{ spans: false } records metrics only', async () => {
    const observed = new Observed();
    try {
      observed.instrumentation.setConfig({ spans: false });
      await runTransaction(driver([]), async () => 1, fast);
      expect(await observed.by(DSQL_METRICS.transactionAttempts, 'outcome')).toEqual({ committed: 1 });
      expect(observed.spans()).toEqual([]);
    } finally {
      await observed.stop();
    }
  });

  test('a start whose end never comes is ended once 10,000 spans are open, not kept forever', async () => {
    const observed = new Observed();
    try {
      const start = channel(DSQL_CHANNELS.transactionStart);
      for (let id = -1; id >= -10_001; id--) start.publish({ transactionId: id });
      const abandoned = observed.spans('dsql.transaction');
      expect(abandoned).toHaveLength(1);
      expect(abandoned[0]!.status).toMatchObject({ code: 2, message: 'no end reported' });
    } finally {
      await observed.stop(); // ends the 10,000 still open
    }
  });

  test("failover and failback (core's failover router's events) are counted with both Regions", async () => {
    const observed = new Observed();
    try {
      const east1 = { endpoint: 'aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-1.on.aws', region: 'us-east-1', port: 5432, index: 0 };
      const east2 = { endpoint: 'aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-2.on.aws', region: 'us-east-2', port: 5432, index: 1 };
      // Published on the real channels, as core's router does (its own tests cover when it does).
      channel(DSQL_FAILOVER_CHANNELS.endpointUnhealthy).publish({ ...east1, reason: 'transient', sqlstate: undefined, failures: 3, nextProbeMs: 500 });
      channel(DSQL_FAILOVER_CHANNELS.failover).publish({ from: east1, to: east2, reason: 'transient' });
      channel(DSQL_FAILOVER_CHANNELS.failback).publish({ from: east2, to: east1, reason: 'healthy' });
      expect(await observed.by(DSQL_METRICS.failovers, 'direction')).toEqual({ failover: 1, failback: 1 });
      expect(await observed.by(DSQL_METRICS.failovers, 'to_region')).toEqual({ 'us-east-2': 1, 'us-east-1': 1 });
      expect(await observed.by(DSQL_METRICS.endpointUnhealthy, 'region')).toEqual({ 'us-east-1': 1 });
    } finally {
      await observed.stop();
    }
  });

  test('a transaction span is a child of the span active when transaction() was called', async () => {
    const observed = new Observed();
    try {
      // What NodeSDK installs: without a context manager there is no active span to be a child of.
      const contextManager = new AsyncLocalStorageContextManager().enable();
      context.setGlobalContextManager(contextManager);
      const tracer = observed.tracerProvider.getTracer('app');
      const parent = tracer.startSpan('request');
      await context.with(trace.setSpan(context.active(), parent), () => runTransaction(driver([]), async () => 1, fast));
      parent.end();
      const [tx] = observed.spans('dsql.transaction');
      expect(tx!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      context.disable();
    } finally {
      await observed.stop();
    }
  });
});
