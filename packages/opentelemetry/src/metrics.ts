/**
 * The metrics of `DsqlInstrumentation`: names, units and descriptions in one place (the
 * package README lists the same table). Counters count diagnostics events of @dsql/core one
 * for one, so a metric and the event stream never disagree.
 */
import type { Counter, Histogram, Meter, ObservableCounter, ObservableUpDownCounter } from '@opentelemetry/api';

/**
 * Metric names, as exported.
 *
 * @example
 * const points = resourceMetrics.scopeMetrics[0].metrics.find((m) => m.descriptor.name === DSQL_METRICS.occConflicts);
 */
export const DSQL_METRICS = Object.freeze({
  /**
   * UpDownCounter (observed), connections: open connections of each live pool, attributes
   * `db.client.connection.state` (`idle`, `used`) and `db.client.connection.pool.name`
   * (`host:port/database`). OpenTelemetry DB semantic conventions; read from the pools' `stats()` numbers.
   */
  connectionCount: 'db.client.connection.count',
  /** UpDownCounter (observed), requests: requests waiting for a connection of each live pool (pools whose driver exposes the number). */
  connectionPendingRequests: 'db.client.connection.pending_requests',
  /** Histogram, seconds: time to open a connection (rate-limit wait, TLS, authentication), successful attempts. OpenTelemetry DB semantic conventions. */
  connectionCreateTime: 'db.client.connection.create_time',
  /** Counter: connection attempts, attribute `outcome` (`ok`, `refused`, `rate_limited`, `timeout`, `error`) and `reason`. */
  connectAttempts: 'dsql.client.connect.attempts',
  /** Histogram, seconds: time attempts waited for the process's connection rate limiter (only attempts that waited). */
  connectRateLimitWait: 'dsql.client.connect.rate_limit_wait',
  /** Counter: tokens signed, attribute `outcome`. */
  tokenSignings: 'dsql.client.token.signings',
  /** Counter: tokens served past their refresh point while the credential source failed. */
  tokenStaleServed: 'dsql.client.token.stale_served',
  /** Counter: calls to the credential source, attributes `outcome` and `source` (`static`, `provider`, `profile`, `default_chain`). */
  credentialResolutions: 'dsql.client.credentials.resolutions',
  /**
   * Counter (observed: counted by the instrumentation, reported at collection), transaction attempts,
   * attribute `outcome` (`committed`, `occ_conflict`, `transient`, `commit_unknown`, `error`).
   */
  transactionAttempts: 'dsql.client.transaction.attempts',
  /** Counter (observed): OCC conflicts absorbed or returned (transaction attempts that ended in 40001). */
  occConflicts: 'dsql.client.occ.conflicts',
  /** Counter (observed): transactions whose COMMIT outcome is unknown (`CommitOutcomeUnknownError`). */
  commitUnknown: 'dsql.client.commit.unknown',
  /** Counter: connections closed, attribute `reason` (`lifetime`, `idle`, `server_closed`, `error`, `client`). */
  connectionClosed: 'dsql.client.connection.closed',
  /** Counter: new connections moving to another Regional endpoint, attribute `direction` (`failover`, `failback`), `from_region`, `to_region`, `reason`. */
  failovers: 'dsql.client.failovers',
  /** Counter: Regional endpoints marked unhealthy, attribute `reason`. */
  endpointUnhealthy: 'dsql.client.endpoint.unhealthy',
} as const);

/** The instruments, created from one meter. @internal */
export interface Instruments {
  connectionCount: ObservableUpDownCounter;
  connectionPendingRequests: ObservableUpDownCounter;
  connectionCreateTime: Histogram;
  connectAttempts: Counter;
  connectRateLimitWait: Histogram;
  tokenSignings: Counter;
  tokenStaleServed: Counter;
  credentialResolutions: Counter;
  /** Observed: the per-transaction counters are counted in the instrumentation (see counts.ts). */
  transactionAttempts: ObservableCounter;
  occConflicts: ObservableCounter;
  commitUnknown: ObservableCounter;
  connectionClosed: Counter;
  failovers: Counter;
  endpointUnhealthy: Counter;
}

/** Histogram bucket boundaries (seconds) of the duration histograms. @internal */
export const SECONDS_BUCKETS: number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** Creates the instruments on `meter`. @internal */
export function createInstruments(meter: Meter): Instruments {
  // The SDK's default histogram buckets (0, 5, 10, 25 … 10,000) suit milliseconds: a connection
  // opened in 60 ms would land in the first bucket. These are the database semantic conventions'
  // boundaries for durations in seconds (db.client.operation.duration).
  const seconds = { unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS } };
  const count = (name: string, description: string, unit = '{event}'): Counter => meter.createCounter(name, { description, unit });
  const observed = (name: string, description: string, unit: string): ObservableCounter => meter.createObservableCounter(name, { description, unit });
  return {
    connectionCount: meter.createObservableUpDownCounter(DSQL_METRICS.connectionCount, { description: 'The number of connections that are currently in state described by the state attribute.', unit: '{connection}' }),
    connectionPendingRequests: meter.createObservableUpDownCounter(DSQL_METRICS.connectionPendingRequests, { description: 'The number of current pending requests for an open connection.', unit: '{request}' }),
    connectionCreateTime: meter.createHistogram(DSQL_METRICS.connectionCreateTime, { ...seconds, description: 'The time it took to create a new connection.' }),
    connectAttempts: count(DSQL_METRICS.connectAttempts, 'Connection attempts to Aurora DSQL, by outcome.', '{attempt}'),
    connectRateLimitWait: meter.createHistogram(DSQL_METRICS.connectRateLimitWait, { ...seconds, description: 'Time connection attempts waited for the connection rate limiter.' }),
    tokenSignings: count(DSQL_METRICS.tokenSignings, 'IAM authentication tokens signed.', '{token}'),
    tokenStaleServed: count(DSQL_METRICS.tokenStaleServed, 'Tokens served past their refresh point while the credential source failed.', '{token}'),
    credentialResolutions: count(DSQL_METRICS.credentialResolutions, 'Calls to the AWS credential source.', '{call}'),
    transactionAttempts: observed(DSQL_METRICS.transactionAttempts, 'Transaction attempts, by outcome.', '{attempt}'),
    occConflicts: observed(DSQL_METRICS.occConflicts, 'Optimistic concurrency conflicts (SQLSTATE 40001).', '{conflict}'),
    commitUnknown: observed(DSQL_METRICS.commitUnknown, 'Transactions whose COMMIT outcome is unknown.', '{transaction}'),
    connectionClosed: count(DSQL_METRICS.connectionClosed, 'Connections closed, by reason.', '{connection}'),
    failovers: count(DSQL_METRICS.failovers, 'New connections moved to another Regional endpoint (failover) or back (failback).', '{event}'),
    endpointUnhealthy: count(DSQL_METRICS.endpointUnhealthy, 'Regional endpoints marked unhealthy.', '{event}'),
  };
}
