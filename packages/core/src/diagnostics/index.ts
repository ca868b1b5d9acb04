/**
 * Observability built once: the `node:diagnostics_channel` contract (channels.ts) and the
 * publishers core's connect, auth and transaction code use (connect-probe.ts, transaction-events.ts),
 * the one `stats()` shape of every adapter counted at the same points (stats.ts), and the registry
 * of live pools that `dsqlStats()` and the connection-count metric read (pools.ts).
 */
export {
  DSQL_CHANNELS,
  type DsqlEndpointFields,
  type DsqlConnectStartMessage,
  type DsqlConnectRateLimitWaitMessage,
  type DsqlConnectOutcome,
  type DsqlConnectEndMessage,
  type DsqlConnectionCloseReason,
  type DsqlConnectionClosedMessage,
  type DsqlTokenSignedMessage,
  type DsqlTokenStaleServedMessage,
  type DsqlCredentialsResolvedMessage,
  type DsqlTransactionStartMessage,
  type DsqlTransactionOutcome,
  type DsqlTransactionAttemptMessage,
  type DsqlTransactionEndMessage,
} from './channels.js';
export { probeConnectAttempt, connectionCloseReason, type ConnectAttemptProbe, type ConnectionProbe } from './connect-probe.js';
export { connectOutcome, transactionOutcome } from './outcomes.js';
export { resolveLogger, type DsqlLogger } from './logger.js';
export { DsqlStatsRecorder, UNKNOWN_CONNECTIONS, type DsqlStats, type DsqlConnectionCounts } from './stats.js';
export { dsqlStats, dsqlStatsRecorderOf, dsqlPools, registerDsqlPool, unregisterDsqlPool, aliasDsqlStats, type DsqlPoolSnapshot, type DsqlPoolSource } from './pools.js';
