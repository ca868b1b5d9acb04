import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { context, SpanKind, SpanStatusCode, type Attributes, type ObservableResult, type Span } from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  DSQL_CHANNELS,
  dsqlPools,
  DSQL_FAILOVER_CHANNELS,
  type DsqlEndpointUnhealthyMessage,
  type DsqlFailoverMessage,
  type DsqlConnectEndMessage,
  type DsqlConnectRateLimitWaitMessage,
  type DsqlConnectStartMessage,
  type DsqlConnectionClosedMessage,
  type DsqlCredentialsResolvedMessage,
  type DsqlEndpointFields,
  type DsqlTokenSignedMessage,
  type DsqlTokenStaleServedMessage,
  type DsqlTransactionAttemptMessage,
  type DsqlTransactionEndMessage,
  type DsqlTransactionStartMessage,
} from '@dsql/core';
import { CountsByEndpoint } from './counts.js';
import { createInstruments, type Instruments } from './metrics.js';
import { VERSION } from './version.js';

/**
 * Options of {@link DsqlInstrumentation}: OpenTelemetry's `InstrumentationConfig` (`enabled`)
 * plus which signals to record.
 *
 * @example
 * new DsqlInstrumentation({ spans: false } satisfies DsqlInstrumentationConfig);
 */
export interface DsqlInstrumentationConfig extends InstrumentationConfig {
  /** Record spans (one per `transaction()` call, one per connection attempt). Default `true`. */
  spans?: boolean;
}

type Listener = (message: unknown) => void;

/** The per-transaction counters' counts (see counts.ts for why they are kept here). */
interface TransactionCounts {
  attempts: CountsByEndpoint;
  occConflicts: CountsByEndpoint;
  commitUnknown: CountsByEndpoint;
}

/**
 * Open spans kept at most: core publishes an end for every start, so this bound only matters if
 * an adapter ever failed to report one; the oldest span is then ended rather than kept forever.
 */
const MAX_OPEN_SPANS = 10_000;

function remember(spans: Map<number, Span> | undefined, id: number, span: Span): void {
  if (spans === undefined) return;
  if (spans.size >= MAX_OPEN_SPANS) {
    const [oldestId, oldest] = spans.entries().next().value as [number, Span];
    spans.delete(oldestId);
    oldest.setStatus({ code: SpanStatusCode.ERROR, message: 'no end reported' });
    oldest.end();
  }
  spans.set(id, span);
}

/** What every message about a connection adds to a metric point. */
function endpointAttributes(m: DsqlEndpointFields): Attributes {
  return { endpoint: m.endpoint, region: m.region };
}

/**
 * Turns the diagnostics events `@dsql/core` publishes on `node:diagnostics_channel` (for every
 * adapter: `@dsql/pg`, `@dsql/postgres`, `@dsql/kysely`, `@dsql/drizzle`) into OpenTelemetry
 * metrics (see `DSQL_METRICS`) and spans: `dsql.transaction` per `transaction()` call, with each
 * attempt as a span event and the final outcome, and `dsql.connect` per physical connection
 * attempt, with its rate-limit wait as an event and its outcome.
 *
 * An OpenTelemetry instrumentation in the usual shape (it extends `InstrumentationBase`): register
 * it with `registerInstrumentations`, beside `@opentelemetry/instrumentation-pg` and friends, which
 * keep recording the queries themselves (this one records no query span, so nothing is counted
 * twice). It patches no module: it subscribes to core's channels while enabled, and core builds no
 * event while nobody subscribes. Attributes hold endpoints, Regions, roles, outcomes and reasons:
 * never a token, password or secret.
 *
 * @example
 * import { registerInstrumentations } from '@opentelemetry/instrumentation';
 * import { DsqlInstrumentation } from '@dsql/opentelemetry';
 *
 * registerInstrumentations({ instrumentations: [new DsqlInstrumentation()] });
 */
export class DsqlInstrumentation extends InstrumentationBase<DsqlInstrumentationConfig> {
  // `declare`: InstrumentationBase calls _updateMetricInstruments() and enable() from its own
  // constructor, before class fields would be initialised (and an initialiser would then reset them).
  declare private _instruments: (Instruments & { counts: TransactionCounts }) | undefined;
  declare private _listeners: Map<string, Listener> | undefined;
  /** Open spans, by the id core gives the attempt or transaction (ended and removed with their end message). */
  declare private _connectSpans: Map<number, Span> | undefined;
  declare private _transactionSpans: Map<number, Span> | undefined;
  /** Pool names the connection-count metric has reported, so that a name whose pools all ended reads 0. */
  declare private _poolNames: Map<string, { endpoint: string; region: string; pendingKnown: boolean }> | undefined;

  constructor(config: DsqlInstrumentationConfig = {}) {
    super('@dsql/opentelemetry', VERSION, config);
  }

  /** No module to patch: the events come from `node:diagnostics_channel`. */
  protected override init(): void {
    return undefined;
  }

  protected override _updateMetricInstruments(): void {
    this._instruments = this._createInstruments();
  }

  /**
   * The instruments on the current meter, the connection counts observed from the pools core knows
   * of, the per-transaction counters observed from counts kept here (they start at 0 with each meter,
   * as a synchronous counter of the new meter would).
   */
  private _createInstruments(): Instruments & { counts: TransactionCounts } {
    const instruments = createInstruments(this.meter);
    instruments.connectionCount.addCallback((result) => this._observeConnections(result, 'count'));
    instruments.connectionPendingRequests.addCallback((result) => this._observeConnections(result, 'pending'));
    const counts: TransactionCounts = { attempts: new CountsByEndpoint('outcome'), occConflicts: new CountsByEndpoint(), commitUnknown: new CountsByEndpoint() };
    instruments.transactionAttempts.addCallback((result) => counts.attempts.observe(result));
    instruments.occConflicts.addCallback((result) => counts.occConflicts.observe(result));
    instruments.commitUnknown.addCallback((result) => counts.commitUnknown.observe(result));
    return { ...instruments, counts };
  }

  /**
   * Reports each live pool's connections (the numbers its `stats()` gives), summed by pool name:
   * pools to the same endpoint and database share a name, and one observation per attribute set
   * is kept. Nothing while disabled.
   */
  private _observeConnections(result: ObservableResult, what: 'count' | 'pending'): void {
    if (this._listeners === undefined) return;
    const byName = new Map<string, { idle: number; used: number; pending: number; endpoint: string; region: string; pendingKnown: boolean }>();
    for (const pool of dsqlPools()) {
      const c = pool.connections;
      const sum = byName.get(pool.name) ?? { idle: 0, used: 0, pending: 0, endpoint: pool.endpoint, region: pool.region, pendingKnown: false };
      sum.idle += c.idle ?? 0;
      sum.used += c.used ?? 0;
      if (c.pending !== null) {
        sum.pending += c.pending;
        sum.pendingKnown = true;
      }
      byName.set(pool.name, sum);
    }
    // A name seen before with no live pool now (its pools ended): 0, not the SDK's last value. The
    // names are few (one per endpoint, port and database), so remembering them costs nothing.
    const seen = (this._poolNames ??= new Map());
    for (const [name, where] of seen) {
      if (!byName.has(name)) byName.set(name, { idle: 0, used: 0, pending: 0, endpoint: where.endpoint, region: where.region, pendingKnown: where.pendingKnown });
    }
    for (const [name, sum] of byName) {
      // Once a pool of this name reported its queue, the name keeps being reported (0 when none does now).
      sum.pendingKnown ||= seen.get(name)?.pendingKnown ?? false;
      seen.set(name, { endpoint: sum.endpoint, region: sum.region, pendingKnown: sum.pendingKnown });
      const attributes = { 'db.client.connection.pool.name': name, endpoint: sum.endpoint, region: sum.region };
      if (what === 'pending') {
        if (sum.pendingKnown) result.observe(sum.pending, attributes);
        continue;
      }
      result.observe(sum.idle, { ...attributes, 'db.client.connection.state': 'idle' });
      result.observe(sum.used, { ...attributes, 'db.client.connection.state': 'used' });
    }
  }

  /**
   * Subscribes to core's channels (idempotent). Called by `registerInstrumentations`, and by the
   * constructor unless `enabled: false`.
   *
   * @example
   * instrumentation.enable();
   */
  override enable(): void {
    super.enable();
    if (this._listeners !== undefined) return;
    this._connectSpans = new Map();
    this._transactionSpans = new Map();
    const listeners = new Map<string, Listener>([
      [DSQL_CHANNELS.connectStart, (m) => this._connectStart(m as DsqlConnectStartMessage)],
      [DSQL_CHANNELS.connectRateLimitWait, (m) => this._rateLimitWait(m as DsqlConnectRateLimitWaitMessage)],
      [DSQL_CHANNELS.connectEnd, (m) => this._connectEnd(m as DsqlConnectEndMessage)],
      [DSQL_CHANNELS.connectionClosed, (m) => this._connectionClosed(m as DsqlConnectionClosedMessage)],
      [DSQL_CHANNELS.tokenSigned, (m) => this._tokenSigned(m as DsqlTokenSignedMessage)],
      [DSQL_CHANNELS.tokenStaleServed, (m) => this._tokenStaleServed(m as DsqlTokenStaleServedMessage)],
      [DSQL_CHANNELS.credentialsResolved, (m) => this._credentialsResolved(m as DsqlCredentialsResolvedMessage)],
      [DSQL_CHANNELS.transactionStart, (m) => this._transactionStart(m as DsqlTransactionStartMessage)],
      [DSQL_CHANNELS.transactionAttempt, (m) => this._transactionAttempt(m as DsqlTransactionAttemptMessage)],
      [DSQL_CHANNELS.transactionEnd, (m) => this._transactionEnd(m as DsqlTransactionEndMessage)],
      [DSQL_FAILOVER_CHANNELS.failover, (m) => this._failover('failover', m as DsqlFailoverMessage)],
      [DSQL_FAILOVER_CHANNELS.failback, (m) => this._failover('failback', m as DsqlFailoverMessage)],
      [DSQL_FAILOVER_CHANNELS.endpointUnhealthy, (m) => this._endpointUnhealthy(m as DsqlEndpointUnhealthyMessage)],
    ]);
    for (const [name, listener] of listeners) subscribe(name, listener);
    this._listeners = listeners;
  }

  /**
   * Unsubscribes (idempotent); spans still open are ended.
   *
   * @example
   * instrumentation.disable();
   */
  override disable(): void {
    super.disable();
    const listeners = this._listeners;
    if (listeners === undefined) return;
    for (const [name, listener] of listeners) unsubscribe(name, listener);
    this._listeners = undefined;
    for (const span of [...(this._connectSpans?.values() ?? []), ...(this._transactionSpans?.values() ?? [])]) span.end();
    this._connectSpans?.clear();
    this._transactionSpans?.clear();
  }

  private get _m(): Instruments & { counts: TransactionCounts } {
    return (this._instruments ??= this._createInstruments());
  }

  private get _spans(): boolean {
    return this.getConfig().spans !== false;
  }

  private _connectStart(m: DsqlConnectStartMessage): void {
    if (!this._spans) return;
    const span = this.tracer.startSpan(
      'dsql.connect',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'server.address': m.endpoint, 'server.port': m.port, 'cloud.region': m.region, 'db.user': m.user, 'dsql.connect.attempt_id': m.attemptId },
      },
      context.active(),
    );
    remember(this._connectSpans, m.attemptId, span);
  }

  private _rateLimitWait(m: DsqlConnectRateLimitWaitMessage): void {
    this._m.connectRateLimitWait.record(m.waitMs / 1000, endpointAttributes(m));
    this._connectSpans?.get(m.attemptId)?.addEvent('dsql.connect.rate_limit_wait', { 'dsql.wait_ms': m.waitMs });
  }

  private _connectEnd(m: DsqlConnectEndMessage): void {
    const attributes: Attributes = { ...endpointAttributes(m), outcome: m.outcome };
    if (m.reason !== undefined) attributes.reason = m.reason;
    this._m.connectAttempts.add(1, attributes);
    // The pool name as the connection-count metric gives it (core's naming: host:port/database).
    if (m.outcome === 'ok') this._m.connectionCreateTime.record(m.durationMs / 1000, { ...endpointAttributes(m), 'db.client.connection.pool.name': `${m.endpoint}:${m.port}/${m.database}` });
    const span = this._connectSpans?.get(m.attemptId);
    if (span === undefined) return;
    this._connectSpans?.delete(m.attemptId);
    span.setAttributes({ 'dsql.connect.outcome': m.outcome, 'dsql.connect.rate_limit_wait_ms': m.rateLimitWaitMs });
    // The phases core measured: dial (TCP + TLS), TLS alone where the adapter sees it, authentication.
    if (m.dialMs !== undefined) span.setAttribute('dsql.connect.dial_ms', m.dialMs);
    if (m.tlsMs !== undefined) span.setAttribute('dsql.connect.tls_ms', m.tlsMs);
    if (m.authMs !== undefined) span.setAttribute('dsql.connect.auth_ms', m.authMs);
    if (m.connectionId !== undefined) span.setAttribute('dsql.connection.id', m.connectionId);
    if (m.outcome !== 'ok') {
      if (m.reason !== undefined) span.setAttribute('dsql.connect.reason', m.reason);
      if (m.sqlstate !== undefined) span.setAttribute('db.response.status_code', m.sqlstate);
      span.setStatus({ code: SpanStatusCode.ERROR, message: m.outcome });
    }
    span.end();
  }

  private _connectionClosed(m: DsqlConnectionClosedMessage): void {
    this._m.connectionClosed.add(1, { ...endpointAttributes(m), reason: m.reason });
  }

  private _tokenSigned(m: DsqlTokenSignedMessage): void {
    this._m.tokenSignings.add(1, { endpoint: m.endpoint, region: m.region, outcome: m.outcome });
  }

  private _tokenStaleServed(m: DsqlTokenStaleServedMessage): void {
    this._m.tokenStaleServed.add(1, { endpoint: m.endpoint, region: m.region });
  }

  private _credentialsResolved(m: DsqlCredentialsResolvedMessage): void {
    const attributes: Attributes = { source: m.sourceKind, outcome: m.outcome };
    if (m.region !== undefined) attributes.region = m.region;
    this._m.credentialResolutions.add(1, attributes);
  }

  private _failover(direction: 'failover' | 'failback', m: DsqlFailoverMessage): void {
    this._m.failovers.add(1, { direction, from_region: m.from.region, to_region: m.to.region, endpoint: m.to.endpoint, region: m.to.region, reason: m.reason });
  }

  private _endpointUnhealthy(m: DsqlEndpointUnhealthyMessage): void {
    this._m.endpointUnhealthy.add(1, { endpoint: m.endpoint, region: m.region, reason: m.reason });
  }

  private _transactionStart(m: DsqlTransactionStartMessage): void {
    if (!this._spans) return;
    // Published synchronously inside the caller's transaction() call: the active context is the caller's.
    const attributes: Attributes = m.endpoint === undefined ? {} : { 'server.address': m.endpoint, 'cloud.region': m.region };
    remember(this._transactionSpans, m.transactionId, this.tracer.startSpan('dsql.transaction', { kind: SpanKind.CLIENT, attributes }, context.active()));
  }

  private _transactionAttempt(m: DsqlTransactionAttemptMessage): void {
    // The pool's endpoint where core knows it (a pool with one endpoint). Counted here, observed at
    // collection: this runs on every transaction() call (counts.ts says why not Counter.add).
    const { counts } = this._m;
    counts.attempts.add(m.endpoint, m.region, m.outcome);
    if (m.outcome === 'occ_conflict') counts.occConflicts.add(m.endpoint, m.region);
    if (m.outcome === 'commit_unknown') counts.commitUnknown.add(m.endpoint, m.region);
    const span = this._transactionSpans?.get(m.transactionId);
    if (span === undefined) return;
    const attributes: Attributes = { 'dsql.transaction.attempt': m.attempt, 'dsql.transaction.outcome': m.outcome, 'dsql.duration_ms': m.durationMs };
    if (m.sqlstate !== undefined) attributes['db.response.status_code'] = m.sqlstate;
    span.addEvent('dsql.transaction.attempt', attributes);
  }

  private _transactionEnd(m: DsqlTransactionEndMessage): void {
    const span = this._transactionSpans?.get(m.transactionId);
    if (span === undefined) return;
    this._transactionSpans?.delete(m.transactionId);
    span.setAttributes({ 'dsql.transaction.attempts': m.attempts, 'dsql.transaction.outcome': m.outcome });
    if (m.outcome !== 'committed') span.setStatus({ code: SpanStatusCode.ERROR, message: m.outcome });
    span.end();
  }
}

