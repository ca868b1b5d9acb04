/**
 * Health-based failover between a multi-Region cluster's Regional endpoints: the `endpoints`
 * option resolved per endpoint (resolve-endpoints.ts), what a connection to one endpoint needs
 * (endpoint-session.ts), the router with one circuit breaker per endpoint (endpoint-router.ts),
 * its health checks (endpoint-checks.ts, silent-statements.ts) and failback drain (failback-drain.ts),
 * and the diagnostics events it publishes (events.ts).
 */
export {
  DSQL_FAILOVER_CHANNELS,
  type DsqlEndpointRef,
  type DsqlEndpointUnhealthyMessage,
  type DsqlEndpointHealthyMessage,
  type DsqlFailoverMessage,
} from './events.js';
export { isEndpointFailure, type EndpointRouter, type EndpointProbe, type RoutedAttempt, type EndpointHealth, type RoutedEndpoint } from './endpoint-router.js';
export type { DsqlEndpointSession } from './endpoint-session.js';
export type { StatementWatch } from './silent-statements.js';
export type { DsqlEndpointOption, EndpointSelection, EndpointProbeOptions, ResolvedEndpointProbe } from '../config/options.js';
