export { VERSION } from './version.js';
export { applicationName } from './config/application-name.js';
export * from './errors/index.js';
export { parseEndpoint, type DsqlEndpoint, type EndpointKind, type ParseEndpointOptions } from './config/endpoint.js';
export { resolveConfig, type DsqlConfig, type DsqlConnectionOptions } from './config/config.js';
export type { DsqlTransport, WebSocketConstructorLike, WebSocketLike } from './config/transport.js';
export type { AwsCredentials, AwsCredentialsProvider, CredentialsInput } from './auth/credentials-types.js';
export {
  TokenProvider,
  type TokenProviderOptions,
  type TokenProviderStats,
  type DsqlAction,
} from './auth/token-provider.js';
export {
  withRetry,
  resolveRetryOptions,
  type RetryOptions,
  type RetryInfo,
  type ResolvedRetryOptions,
} from './retry.js';
export {
  ConnectRateLimiter,
  DEFAULT_CONNECT_RATE,
  type ConnectRateLimitOptions,
  type AcquireOptions,
  type ConnectRateLimiterStats,
  type ResolvedConnectRateLimit,
} from './connect/rate-limiter.js';
export {
  AdaptiveConnectRateLimiter,
  type AdaptiveConnectRateLimitOptions,
  type AdaptiveConnectRateLimiterStats,
} from './connect/adaptive-rate-limiter.js';
export type { SecondsWindow } from './connect/lifecycle.js';
export type { SslMode, UserTlsOptions } from './connect/tls.js';
export { connectWithRetry, type ConnectRetryOptions } from './connect/connect-retry.js';
export { describeConnectError, type ConnectErrorContext } from './connect/describe-connect-error.js';
export { DSQL_OPTION_KEYS, withoutDsqlOptions } from './config/option-keys.js';
export {
  createDsqlSession,
  sessionCarriedBy,
  DSQL_SESSION,
  type DsqlSession,
  type DsqlSessionOptions,
  type DsqlDialTarget,
  type DsqlLifetimePolicy,
} from './session/session.js';
export * from './transaction/index.js';
export * from './diagnostics/index.js';
export * from './failover/index.js';
export { DsqlSockets } from './socket/index.js';
export { EndpointSessions } from './socket/endpoint-sessions.js';
