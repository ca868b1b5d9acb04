// What failover publishes on node:diagnostics_channel (the mechanism every adapter's connect path
// reports through, see diagnostics/channels.ts): an endpoint going unhealthy or healthy again, and
// new connections moving to another endpoint (failover) or back to a more preferred one (failback).
import diagnosticsChannel from 'node:diagnostics_channel';

/**
 * The failover channel names. Subscribe with `diagnostics_channel.subscribe(name, fn)`.
 *
 * @example
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe(DSQL_FAILOVER_CHANNELS.failover, (m) => {
 *   const { from, to, reason } = m as DsqlFailoverMessage;
 *   console.warn(`DSQL: new connections go to ${to.region} (${from.region}: ${reason})`);
 * });
 */
export const DSQL_FAILOVER_CHANNELS = Object.freeze({
  /** An endpoint was marked unhealthy: {@link DsqlEndpointUnhealthyMessage}. */
  endpointUnhealthy: 'dsql:endpoint:unhealthy',
  /** An unhealthy endpoint answered again (a probe or a connection succeeded): {@link DsqlEndpointHealthyMessage}. */
  endpointHealthy: 'dsql:endpoint:healthy',
  /** New connections moved from the endpoint they went to towards a less preferred one: {@link DsqlFailoverMessage}. */
  failover: 'dsql:endpoint:failover',
  /** New connections moved back to a more preferred endpoint: {@link DsqlFailoverMessage}. */
  failback: 'dsql:endpoint:failback',
} as const);

/**
 * An endpoint as failover messages name it (never a credential).
 *
 * @example
 * const where: DsqlEndpointRef = { endpoint: 'bbbbbbbbbbbbbbbbbbbbbbbbbb.dsql.us-east-2.on.aws', region: 'us-east-2', port: 5432, index: 1 };
 */
export interface DsqlEndpointRef {
  /** The endpoint's hostname (SNI and token host). */
  readonly endpoint: string;
  readonly region: string;
  readonly port: number;
  /** Its position in the `endpoints` option (0 = preferred). */
  readonly index: number;
}

/**
 * `dsql:endpoint:unhealthy`.
 *
 * @example
 * subscribe(DSQL_FAILOVER_CHANNELS.endpointUnhealthy, (m) => console.warn((m as DsqlEndpointUnhealthyMessage).reason));
 */
export interface DsqlEndpointUnhealthyMessage extends DsqlEndpointRef {
  /** Core's error kind of the failure (`transient`, `too-many-connections`, `timeout`, `other`…). */
  readonly reason: string;
  readonly sqlstate: string | undefined;
  /** Consecutive failures (connection attempts and probes) so far. */
  readonly failures: number;
  /** Milliseconds until the next probe. */
  readonly nextProbeMs: number;
}

/**
 * `dsql:endpoint:healthy`.
 *
 * @example
 * subscribe(DSQL_FAILOVER_CHANNELS.endpointHealthy, (m) => console.info('back after', (m as DsqlEndpointHealthyMessage).downMs, 'ms'));
 */
export interface DsqlEndpointHealthyMessage extends DsqlEndpointRef {
  /** Milliseconds it was unhealthy. */
  readonly downMs: number;
  /** What found it healthy: the background `probe`, or a `connection` attempt. */
  readonly by: 'probe' | 'connection';
}

/**
 * `dsql:endpoint:failover` and `dsql:endpoint:failback`.
 *
 * @example
 * subscribe(DSQL_FAILOVER_CHANNELS.failback, (m) => console.info('back to', (m as DsqlFailoverMessage).to.region));
 */
export interface DsqlFailoverMessage {
  readonly from: DsqlEndpointRef;
  readonly to: DsqlEndpointRef;
  /** Why: the failure kind of `from` (failover), or `healthy` (failback). */
  readonly reason: string;
}

/** The channel objects, created once. @internal */
export const failoverChannels = {
  endpointUnhealthy: diagnosticsChannel.channel(DSQL_FAILOVER_CHANNELS.endpointUnhealthy),
  endpointHealthy: diagnosticsChannel.channel(DSQL_FAILOVER_CHANNELS.endpointHealthy),
  failover: diagnosticsChannel.channel(DSQL_FAILOVER_CHANNELS.failover),
  failback: diagnosticsChannel.channel(DSQL_FAILOVER_CHANNELS.failback),
};
