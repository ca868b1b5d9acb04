/**
 * `@dsql/core/browser`: the part of core a web page (or any runtime without Node's built-ins)
 * uses — endpoint parsing, IAM tokens signed in the page from credentials the application
 * supplies, error classification and redaction, OCC retry, the transaction runner, and a session
 * whose connections go over WebSocket (`createDsqlBrowserSession`). The same source as the Node
 * entry, built with the few Node-only modules swapped (browser-build.mjs):
 * SHA-256 from `@aws-crypto/sha256-js`, no diagnostics channels, no SDK credential chain (pass
 * `credentials`), no nested-transaction check (no AsyncLocalStorage in browsers).
 *
 * @example
 * import { TokenProvider } from '@dsql/core/browser';
 * const tokens = new TokenProvider({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', region: 'us-east-1', user: 'app', credentials: getCredentials });
 * const token = await tokens.getToken();
 */
export { VERSION } from './version.js';
export * from './errors/index.js';
export { parseEndpoint, type DsqlEndpoint, type EndpointKind, type ParseEndpointOptions } from './config/endpoint.js';
export type { WebSocketConstructorLike, WebSocketLike } from './config/transport.js';
export type { AwsCredentials, AwsCredentialsProvider, CredentialsInput } from './auth/credentials-types.js';
export { TokenProvider, type TokenProviderOptions, type TokenProviderStats, type DsqlAction } from './auth/token-provider.js';
export { withRetry, resolveRetryOptions, type RetryOptions, type RetryInfo, type ResolvedRetryOptions } from './retry.js';
export type { SecondsWindow } from './connect/lifecycle.js';
export * from './transaction/index.js';
export { createDsqlBrowserSession, type DsqlBrowserSession, type DsqlBrowserSessionOptions } from './session/browser-session.js';
