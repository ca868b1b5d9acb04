/**
 * A DSQL session in a web page (`@dsql/core/browser`): the browser counterpart of
 * `createDsqlSession`, from the few options a page has — no environment, no credential chain,
 * no TCP — to what a driver's connections need: where to connect, the shared token source, each
 * connection's lifetime, the transaction retry default, and the WebSocket each connection opens.
 */
import { DsqlConfigError } from '../errors/errors.js';
import { checkCredentials } from '../config/checks.js';
import { parseEndpoint } from '../config/endpoint.js';
import { resolveTransport, type WebSocketConstructorLike } from '../config/transport.js';
import type { CredentialsInput } from '../auth/credentials-types.js';
import { TokenProvider } from '../auth/token-provider.js';
import { LifecyclePolicy, type SecondsWindow } from '../connect/lifecycle.js';
import type { RetryOptions } from '../retry.js';
import { openWebSocketSocket, type NodeLikeSocket } from '../socket/browser-socket.js';

/**
 * Options of {@link createDsqlBrowserSession}: where to connect and who signs.
 *
 * @example
 * const options: DsqlBrowserSessionOptions = { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', user: 'app', credentials: getCredentials };
 */
export interface DsqlBrowserSessionOptions {
  /** The cluster endpoint (or a bare cluster id with `region`): the host tokens are signed for. */
  host: string;
  /** Needed when `host` does not name it (a bare cluster id, a custom name). */
  region?: string;
  /** Database role; default `admin` (a page should use a least-privilege role). */
  user?: string;
  /** Default `postgres`. */
  database?: string;
  /**
   * Required in a browser: an identity `{ accessKeyId, secretAccessKey, sessionToken }` or a
   * provider returning one (called again before its `expiration`). Never long-lived keys.
   */
  credentials: CredentialsInput;
  /** Token lifetime in seconds, 1..604800; default 900. */
  tokenDurationSecs?: number;
  /** Default `wss://<host>:443`. */
  webSocketUrl?: string;
  /** Default: the runtime's global `WebSocket`. */
  webSocketConstructor?: WebSocketConstructorLike;
  /** Each connection's maximum lifetime: seconds, or a `[min, max]` window; default `[2700, 3300]`. */
  maxLifetimeSeconds?: number | SecondsWindow;
  /** The default retry of a transaction: options, `true` (default) or `false`. */
  retry?: RetryOptions | boolean;
}

/** What {@link createDsqlBrowserSession} resolved. */
export interface DsqlBrowserSession {
  /** The endpoint's host name (lower-cased; a bare cluster id expanded). */
  readonly host: string;
  /** DSQL's WebSocket port. */
  readonly port: 443;
  readonly user: string;
  readonly database: string;
  /** One token source for every connection (signed in the page, cached until shortly before expiry). */
  readonly tokens: TokenProvider;
  /** Each connection's lifetime: `drawLifetimeSeconds()` per connection. */
  readonly lifetime: LifecyclePolicy;
  readonly retry: RetryOptions | boolean;
  /** The options given that are not the session's: the driver's own. */
  readonly driverOptions: Record<string, unknown>;
  /**
   * Opens one connection's WebSocket (TLS is the WebSocket's: `wss://`, no SSLRequest), resolving
   * with a Node-like socket once open; frames are emitted as `chunk` makes them (a driver that
   * parses Node `Buffer`s passes a conversion to its `Buffer`).
   */
  openSocket(chunk: (bytes: Uint8Array) => Uint8Array): Promise<NodeLikeSocket>;
}

/**
 * Resolves a page's options into a DSQL session over WebSocket. Validates at once (errors name
 * the field, the value and what is accepted); opens nothing.
 *
 * @example
 * const session = createDsqlBrowserSession({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', user: 'app', credentials: getCredentials });
 * const token = await session.tokens.getToken();
 */
export function createDsqlBrowserSession(options: DsqlBrowserSessionOptions): DsqlBrowserSession {
  if (typeof options !== 'object' || options === null) {
    throw new DsqlConfigError('options', String(options), 'an object with host and credentials');
  }
  const {
    host,
    region,
    user = 'admin',
    database = 'postgres',
    credentials,
    tokenDurationSecs,
    webSocketUrl,
    webSocketConstructor,
    maxLifetimeSeconds,
    retry = true,
    ...driverOptions
  } = options;
  if (checkCredentials(credentials) === undefined) {
    throw new DsqlConfigError('credentials', 'undefined', "in a browser, an identity or a provider (such as a Cognito identity pool's); there is no default chain");
  }
  const endpoint = parseEndpoint(host, region === undefined ? {} : { region });
  const tokens = new TokenProvider({
    host: endpoint.host,
    region: endpoint.region,
    user,
    credentials,
    ...(tokenDurationSecs === undefined ? {} : { tokenDurationSecs }),
  });
  const transport = resolveTransport({ transport: 'websocket', webSocketUrl, webSocketConstructor }, endpoint.host, 'verify-full');
  const url = transport.webSocketUrl as string;
  const lifetime = new LifecyclePolicy(maxLifetimeSeconds === undefined ? {} : { maxLifetimeSeconds });
  return {
    host: endpoint.host,
    port: 443,
    user,
    database,
    tokens,
    lifetime,
    retry,
    driverOptions,
    openSocket: (chunk) => openWebSocketSocket(url, transport.webSocketConstructor, chunk),
  };
}
