import { inspect } from 'node:util';
import { checkTokenDuration, checkCredentials } from '../config/checks.js';
import { DEFAULT_TOKEN_DURATION_SECS } from '../config/options.js';
import type { AwsCredentials, CredentialsInput } from './credentials-types.js';
import { CredentialCache, namedCredentialSourceKey, sharedCredentialCache, type CredentialLookup } from './credentials.js';
import { signDsqlToken } from './sign-token.js';
import { normalizeHost } from '../config/endpoint.js';
import { DsqlConfigError, DsqlCredentialsError, DsqlTokenError, isDsqlError } from '../errors/errors.js';
import { describeValue, redact } from '../errors/redact.js';
import { checkRegion } from '../config/region.js';
import { processWide, SharedRegistry, type SharedRegistryStats } from '../shared-registry.js';
import { safetyMarginMs } from '../static-stability.js';
import { channels, monotonicMs } from '../diagnostics/channels.js';
import { logStaleToken, type DsqlLogger } from '../diagnostics/logger.js';

/**
 * The IAM action a token authorises.
 *
 * @example
 * const action: DsqlAction = tokens.action; // 'DbConnectAdmin' for admin
 */
export type DsqlAction = 'DbConnect' | 'DbConnectAdmin';

/**
 * Options of {@link TokenProvider}.
 *
 * @example
 * new TokenProvider({ host, region: 'us-east-1', user: 'app', profile: 'dev' } satisfies TokenProviderOptions);
 */
export interface TokenProviderOptions {
  /** Hostname the token is signed for (the cluster endpoint; `tokenHost` of a resolved config). */
  host: string;
  region: string;
  /** Database role; `admin` signs `DbConnectAdmin`, others `DbConnect`. Default `admin`. */
  user?: string;
  /** Overrides the action: true → `DbConnectAdmin`, false → `DbConnect`. */
  admin?: boolean;
  credentials?: CredentialsInput | undefined;
  profile?: string | undefined;
  /** Token lifetime, 1..604800 s; default 900. */
  tokenDurationSecs?: number;
  /** Injectable clock (milliseconds), for tests. */
  now?: () => number;
}

/**
 * Counters of a {@link TokenProvider}.
 *
 * @example
 * const { signings, cacheHits }: TokenProviderStats = tokens.stats();
 */
export interface TokenProviderStats {
  /** Tokens signed. */
  readonly signings: number;
  /** Calls to the credential provider behind this token provider (shared with other providers of the same source). */
  readonly credentialResolutions: number;
  /** `getToken()` calls answered from the cache. */
  readonly cacheHits: number;
  /** Failed attempts to get credentials or to sign (including those ridden out with a still-valid token). */
  readonly failures: number;
  /**
   * `getToken()` calls answered with the current token past its refresh point because the
   * credential source was failing and the token was still valid (static stability).
   */
  readonly staleServed: number;
}

/**
 * Tokens are refreshed when less than this remains: a quarter of their lifetime, at most 60 s.
 * The token is only checked when a connection opens, so using it until shortly before expiry is safe.
 */
function refreshMarginMs(durationSecs: number): number {
  return Math.min(60_000, (durationSecs * 1000) / 4);
}

/**
 * While the credential source fails and the current token is kept, it is asked again at most
 * this often (the credential cache adds its own backoff for the provider calls themselves).
 */
const STALE_RECHECK_MS = 250;

/**
 * Signs IAM authentication tokens for one (host, Region, role) with the AWS SDK's SigV4 signer
 * (`@smithy/signature-v4`, loaded at the first signing; the token is the one `@aws-sdk/dsql-signer` makes).
 * The token is cached and reused for every connection until a refresh margin before it expires
 * (or before the credentials that signed it expire); concurrent `getToken()` calls share one
 * signing; credentials are resolved once and re-resolved only when they near expiry. Use
 * {@link TokenProvider.shared} so all pools of a process share one provider per endpoint
 * (and keep the returned provider for as long as you use it, as pools do).
 * Neither the token nor the credentials appear in `util.inspect` or errors.
 *
 * Static stability: tokens are refreshed before they expire, so when the credential source
 * fails at that moment (an outage of IMDS, the container endpoint or STS) and the current
 * token is still valid for more than a safety margin (5 s, or a tenth of its lifetime if
 * shorter), `getToken()` keeps answering with it (counted in `stats().staleServed`) and tries
 * again at most every 250 ms until a fresh token is signed. When the credential cache serves
 * credentials in hand (see {@link CredentialCache}), a new token is signed with them only once
 * the current one is past its safety margin. Only when no valid token is left does the
 * `DsqlCredentialsError` reach the caller (retried by `connectWithRetry` when it is
 * `transient`).
 *
 * @example
 * const tokens = TokenProvider.shared({ host: config.tokenHost, region: config.region, user: config.user });
 * const password = await tokens.getToken();
 */
export class TokenProvider {
  readonly host: string;
  readonly region: string;
  readonly user: string;
  readonly action: DsqlAction;
  readonly tokenDurationSecs: number;
  readonly #credentials: CredentialCache;
  readonly #now: () => number;
  #token: string | undefined;
  #refreshAt = 0;
  /** Until when the current token may still be handed out while the credential source fails. */
  #usableUntil = 0;
  /** The current token is being served past its refresh point (the source is failing). */
  #servingStale = false;
  #pending: Promise<string> | undefined;
  #signings = 0;
  #cacheHits = 0;
  #failures = 0;
  #staleServed = 0;
  /** The `logger`s of the sessions using this shared provider, weakly held (a provider outlives pools). */
  readonly #loggers = new Set<WeakRef<DsqlLogger>>();
  readonly #loggerSeen = new WeakSet<DsqlLogger>();

  constructor(options: TokenProviderOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new DsqlConfigError('TokenProvider options', describeValue(options), '{ host, region, user?, credentials?, profile?, tokenDurationSecs?, admin? }');
    }
    this.host = normalizeHost(options.host, 'host');
    this.region = checkRegion(options.region);
    const user = options.user ?? 'admin';
    if (typeof user !== 'string' || user === '') throw new DsqlConfigError('user', describeValue(user), 'a database role name');
    this.user = user;
    if (options.admin !== undefined && typeof options.admin !== 'boolean') {
      throw new DsqlConfigError('admin', describeValue(options.admin), 'true or false');
    }
    this.action = options.admin ?? user === 'admin' ? 'DbConnectAdmin' : 'DbConnect';
    this.tokenDurationSecs = checkTokenDuration(options.tokenDurationSecs ?? DEFAULT_TOKEN_DURATION_SECS);
    this.#now = options.now ?? Date.now;
    const source = { credentials: checkCredentials(options.credentials), profile: options.profile, region: this.region };
    this.#credentials = options.now ? new CredentialCache(source, { now: options.now }) : sharedCredentialCache(source);
  }

  /**
   * The process-wide provider for (host, Region, user, action, token lifetime, credential
   * source). Pools and clients of one process should use this so they sign once per token
   * lifetime, not once per connection: concurrent users of one endpoint, role and credential
   * source get the same provider, hence one credential resolution and one signing.
   *
   * The credential source is the explicit `credentials` object or provider function by identity
   * (pass the same object to share; a copy is another source), else the profile, else the
   * default chain. The registry is bounded: a provider for explicit credentials lives exactly as
   * long as those credentials are reachable elsewhere (credentials created per request or per
   * pool leave nothing behind); a provider for a profile or the default chain is kept for its
   * token lifetime after its last lookup, and after that for as long as anyone (a pool) still
   * holds it — it is then garbage-collected and a later call creates a fresh one. Shared through
   * `globalThis`, so duplicate installs of this package agree.
   *
   * @example
   * const a = TokenProvider.shared(opts), b = TokenProvider.shared(opts); // a === b
   */
  static shared(options: TokenProviderOptions): TokenProvider {
    const probe = new TokenProvider({ ...options, now: undefined });
    const key = [probe.host, probe.region, probe.user, probe.action, probe.tokenDurationSecs].join('|');
    const reg = sharedProviders();
    const credentials = options.credentials;
    if (credentials !== undefined) {
      let perObject = reg.byObject.get(credentials);
      if (perObject === undefined) reg.byObject.set(credentials, (perObject = newProviderRegistry()));
      return perObject.get(key, () => probe);
    }
    return reg.byName.get(`${key}|${namedCredentialSourceKey({ profile: options.profile, region: probe.region })}`, () => probe);
  }

  /**
   * A token valid for at least the refresh margin, from the cache when possible — or, while
   * the credential source is failing, the current token as long as it is valid for more than
   * its safety margin (see the class). Rejects with a `DsqlCredentialsError` (`transient` when
   * the source was unreachable, timed out, throttled or answered 5xx) or a `DsqlTokenError`,
   * never containing secrets.
   *
   * @example
   * const password = await tokens.getToken();
   */
  getToken(): Promise<string> {
    if (this.#token !== undefined && this.#now() < this.#refreshAt) {
      if (this.#servingStale) {
        this.#staleServed++;
        // Every stale answer is published, as it is counted: stats() and the metric agree.
        if (channels.tokenStaleServed.hasSubscribers) channels.tokenStaleServed.publish({ endpoint: this.host, region: this.region, user: this.user });
      } else this.#cacheHits++;
      return Promise.resolve(this.#token);
    }
    return (this.#pending ??= this.#refresh().finally(() => {
      this.#pending = undefined;
    }));
  }

  async #refresh(): Promise<string> {
    let found: CredentialLookup;
    try {
      found = await this.#credentials.lookup();
    } catch (err) {
      this.#failures++;
      if (isDsqlError(err, 'credentials-unavailable')) {
        const kept = this.#keepCurrentToken();
        if (kept !== undefined) return kept;
        const e = err as DsqlCredentialsError;
        throw new DsqlCredentialsError(e.source, `${e.message} (needed to sign a ${this.action} token for ${this.host} in ${this.region})`, {
          cause: e.cause,
          hint: e.hint,
          transient: e.transient,
        });
      }
      throw err;
    }
    // The source is failing and these are the credentials in hand: a token signed with them would
    // expire no later than theirs, so keep the current token while it is safely valid.
    if (found.stale) {
      const kept = this.#keepCurrentToken();
      if (kept !== undefined) return kept;
    }
    return this.#sign(found.credentials);
  }

  /**
   * The current token, when it is still valid for more than its safety margin; asks the
   * credential source again after a short pause (not on every call).
   */
  #keepCurrentToken(): string | undefined {
    const now = this.#now();
    if (this.#token === undefined || now >= this.#usableUntil) return undefined;
    this.#servingStale = true;
    this.#staleServed++;
    const message = { endpoint: this.host, region: this.region, user: this.user };
    if (channels.tokenStaleServed.hasSubscribers) channels.tokenStaleServed.publish(message);
    // Logged at this decision (once per recheck of the source), not per connection.
    for (const ref of this.#loggers) {
      const logger = ref.deref();
      if (logger === undefined) this.#loggers.delete(ref);
      else logStaleToken(logger, message);
    }
    this.#refreshAt = Math.min(now + STALE_RECHECK_MS, this.#usableUntil);
    return this.#token;
  }

  async #sign(credentials: AwsCredentials): Promise<string> {
    const signedAt = this.#now();
    // Only names and numbers go out on the channel: never the token or the credentials.
    const observed = channels.tokenSigned.hasSubscribers ? monotonicMs() : undefined;
    const publish = (outcome: 'ok' | 'error'): void => {
      if (observed === undefined || !channels.tokenSigned.hasSubscribers) return;
      channels.tokenSigned.publish({
        endpoint: this.host,
        region: this.region,
        user: this.user,
        action: this.action,
        outcome,
        durationMs: monotonicMs() - observed,
        tokenDurationSecs: this.tokenDurationSecs,
      });
    };
    let token: string;
    try {
      // The SDK's SigV4 signer with the resolved identity, loaded at the first signing (see sign-token.ts).
      token = await signDsqlToken({
        hostname: this.host,
        region: this.region,
        action: this.action,
        expiresInSecs: this.tokenDurationSecs,
        credentials,
        signingDate: new Date(signedAt),
      });
    } catch (err) {
      this.#failures++;
      publish('error');
      throw new DsqlTokenError(`Could not sign a ${this.action} token for ${this.host} in ${this.region}: ${redact(err instanceof Error ? err.message : String(err))}`, {
        cause: err,
      });
    }
    this.#signings++;
    publish('ok');
    const credentialsExpireAt = credentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
    // X-Amz-Date has whole seconds: the token's validity starts at the second the signing began,
    // up to 999 ms before `signedAt`. Counting from the exact millisecond would let a short-lived
    // token be handed out after it expired.
    const validFrom = Math.floor(signedAt / 1000) * 1000;
    const expiresAt = Math.min(validFrom + this.tokenDurationSecs * 1000, credentialsExpireAt);
    this.#token = token;
    this.#servingStale = false;
    this.#refreshAt = expiresAt - refreshMarginMs(this.tokenDurationSecs);
    this.#usableUntil = expiresAt - safetyMarginMs(expiresAt - validFrom);
    return token;
  }

  /**
   * Adds a session's `logger`: told (`warn`) when this provider serves its current token past its
   * refresh point because the credential source fails. Weakly held; adding one twice keeps one.
   *
   * @example
   * tokens.logTo(pino());
   */
  logTo(logger: DsqlLogger): void {
    if (this.#loggerSeen.has(logger)) return;
    this.#loggerSeen.add(logger);
    for (const ref of this.#loggers) if (ref.deref() === undefined) this.#loggers.delete(ref);
    this.#loggers.add(new WeakRef(logger));
  }

  /**
   * Counters since creation (credential resolutions are those of the shared credential cache).
   *
   * @example
   * const { signings, credentialResolutions } = tokens.stats();
   */
  stats(): TokenProviderStats {
    return {
      signings: this.#signings,
      credentialResolutions: this.#credentials.stats().resolutions,
      cacheHits: this.#cacheHits,
      failures: this.#failures,
      staleServed: this.#staleServed,
    };
  }

  /** Shows where tokens go, never the token or the credentials. */
  [inspect.custom](): string {
    return `TokenProvider { host: '${this.host}', region: '${this.region}', user: '${this.user}', action: '${this.action}', tokenDurationSecs: ${this.tokenDurationSecs}, credentials: ${JSON.stringify(this.#credentials.source)}, token: ${this.#token ? '[redacted]' : 'none yet'} }`;
  }

  /** `JSON.stringify` shows no token either. */
  toJSON(): Record<string, unknown> {
    return { host: this.host, region: this.region, user: this.user, action: this.action, tokenDurationSecs: this.tokenDurationSecs };
  }
}

interface SharedProviders {
  /**
   * Providers of explicit credential objects and provider functions, keyed by the object itself
   * (then by endpoint, role, action and lifetime). A `WeakMap` entry whose value refers to its key
   * (a provider holds its credentials) is freed once the key is unreachable elsewhere, so
   * credentials created per request, per tenant or per pool leave nothing behind.
   */
  byObject: WeakMap<object, SharedRegistry<TokenProvider>>;
  /** Providers of profiles and of the default chain. */
  readonly byName: SharedRegistry<TokenProvider>;
}

/**
 * A provider is held for its token lifetime after its last lookup: by then its token has expired
 * and it holds nothing a fresh provider would not have. Afterwards it stays shared for as long as
 * anyone (a pool) still holds it.
 */
function newProviderRegistry(): SharedRegistry<TokenProvider> {
  return new SharedRegistry<TokenProvider>({ holdMs: (provider) => provider.tokenDurationSecs * 1000 });
}

/** Process-wide (through `globalThis`, so duplicate installs of this package agree). */
function sharedProviders(): SharedProviders {
  return processWide('@dsql/core/token-providers/v2', () => ({ byObject: new WeakMap(), byName: newProviderRegistry() }));
}

/** Test hook: counts of the providers shared for profiles and the default chain. @internal */
export function sharedTokenProviderStats(): SharedRegistryStats {
  return sharedProviders().byName.stats();
}

/** Test hook: forget every shared provider. @internal */
export function resetSharedTokenProviders(): void {
  const reg = sharedProviders();
  reg.byObject = new WeakMap();
  reg.byName.clear();
}

/**
 * The shared token provider for a resolved config (signs for `config.tokenHost`). Internal:
 * adapters get it as `createDsqlSession(options).tokens`, users as `TokenProvider.shared()`.
 *
 * @example
 * const tokens = tokenProviderFor(resolveConfig(options));
 */
export function tokenProviderFor(config: {
  tokenHost: string;
  region: string;
  user: string;
  admin: boolean;
  credentials?: CredentialsInput | undefined;
  profile?: string | undefined;
  tokenDurationSecs: number;
}): TokenProvider {
  return TokenProvider.shared({
    host: config.tokenHost,
    region: config.region,
    user: config.user,
    admin: config.admin,
    credentials: config.credentials,
    profile: config.profile,
    tokenDurationSecs: config.tokenDurationSecs,
  });
}
