import { inspect } from 'node:util';
import type { AwsCredentials, AwsCredentialsProvider, CredentialsInput } from './credentials-types.js';
import { isTransientCredentialFailure } from './credential-failure.js';
import { DsqlCredentialsError } from '../errors/errors.js';
import { redact } from '../errors/redact.js';
import { processWide, SharedRegistry, type SharedRegistryStats } from '../shared-registry.js';
import { retryDelayMs, safetyMarginMs } from '../static-stability.js';
import { channels, monotonicMs } from '../diagnostics/channels.js';

/**
 * Where credentials come from, as {@link CredentialCache} needs to know.
 *
 * @example
 * const source: CredentialSource = { profile: 'dev', region: 'us-east-1' };
 */
export interface CredentialSource {
  credentials?: CredentialsInput | undefined;
  profile?: string | undefined;
  /** Region for credential providers that call STS (role assumption, web identity). */
  region?: string | undefined;
}

/** Temporary credentials are re-resolved this long before they expire (the AWS SDK's margin). */
const EXPIRY_MARGIN_MS = 5 * 60_000;

/**
 * How long the process-wide cache of a profile or of the default chain is held after its last
 * lookup when no token provider holds it any more (token providers hold their cache themselves).
 */
const SHARED_CACHE_HOLD_MS = 15 * 60_000;

interface SharedCaches {
  /**
   * Caches of explicit credential objects and provider functions, keyed by the object itself.
   * A `WeakMap` entry whose value refers to its key (the cache holds the credentials) is freed
   * once the key is unreachable elsewhere, so credentials created per request, per tenant or per
   * pool leave nothing behind.
   */
  byObject: WeakMap<object, CredentialCache>;
  /** Caches of the default chain and of profiles, keyed `default|<region>` / `profile:<name>|<region>`. */
  readonly byName: SharedRegistry<CredentialCache>;
}

/** Process-wide (through `globalThis`, so duplicate installs of this package agree). */
function sharedCaches(): SharedCaches {
  return processWide('@dsql/core/credential-caches/v2', () => ({
    byObject: new WeakMap<object, CredentialCache>(),
    byName: new SharedRegistry<CredentialCache>({ holdMs: () => SHARED_CACHE_HOLD_MS }),
  }));
}

/** The key of a named credential source (profile or default chain), for sources without explicit credentials. @internal */
export function namedCredentialSourceKey(source: CredentialSource): string {
  if (source.profile !== undefined) return `profile:${source.profile}|${source.region ?? ''}`;
  return `default|${source.region ?? ''}`;
}

/** Human description of a credential source, for errors (never values). @internal */
export function describeCredentialSource(source: CredentialSource): string {
  if (source.credentials !== undefined) {
    return typeof source.credentials === 'function' ? 'the credentials provider function you passed' : 'the credentials object you passed';
  }
  if (source.profile !== undefined) return `profile "${source.profile}" (fromIni: ~/.aws/config, ~/.aws/credentials)`;
  return 'the default AWS credential chain (fromNodeProviderChain: environment, SSO, shared files, process, web identity, ECS, EC2 IMDS)';
}

/**
 * Credentials from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (with `AWS_SESSION_TOKEN` and
 * `AWS_CREDENTIAL_EXPIRATION` when set), read as the SDK's `fromEnv` reads them — the first link
 * of its default chain, which it also skips when `AWS_PROFILE` is set (a profile then becomes this
 * source's `profile`, so it never gets here). Undefined when either key is missing.
 */
function environmentCredentials(env: Record<string, string | undefined>): AwsCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const expiry = env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined;
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(expiry !== undefined && !Number.isNaN(expiry.getTime()) ? { expiration: expiry } : {}),
  };
}

async function providerFor(source: CredentialSource): Promise<AwsCredentialsProvider> {
  const c = source.credentials;
  if (typeof c === 'function') return c;
  if (c !== undefined) return async () => c;
  if (source.profile === undefined) {
    // The default chain starts with the environment: when the keys are there (Lambda puts them
    // there), the chain would answer with them, so it is not loaded at all (a cold-start cost).
    const fromEnvironment = environmentCredentials(process.env);
    if (fromEnvironment !== undefined) return async () => fromEnvironment;
  }
  // Loaded on first use: the providers are large and not needed with explicit or environment
  // credentials. Their own packages, not `@aws-sdk/credential-providers` (whose fromIni and
  // fromNodeProviderChain only forward to these): that one also carries the Cognito provider and
  // its client, ~26 KB of every application bundle.
  const clientConfig = source.region ? { region: source.region } : undefined;
  if (source.profile !== undefined) {
    const { fromIni } = await loadProviderPackage('@aws-sdk/credential-provider-ini', () => import('@aws-sdk/credential-provider-ini'));
    return fromIni({ profile: source.profile, clientConfig });
  }
  const { defaultProvider } = await loadProviderPackage('@aws-sdk/credential-provider-node', () => import('@aws-sdk/credential-provider-node'));
  return defaultProvider({ clientConfig });
}

/** `code` of the error when a credential provider package is not there (see {@link loadProviderPackage}). */
const PROVIDER_PACKAGE_MISSING = 'DSQL_CREDENTIAL_PROVIDER_PACKAGE_MISSING';

/**
 * Imports a credential provider package (each `import()` stays a literal, so a bundler includes the
 * package unless told otherwise). An application bundled with the packages left out — a Lambda
 * bundle relying on the environment's credentials (`--external:@aws-sdk/credential-provider-node`)
 * — gets here only when those are missing, and is told which package and why, not just "Cannot
 * find package".
 */
async function loadProviderPackage<M>(name: string, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw err;
    throw Object.assign(new Error(`the credential provider package ${name} could not be loaded (${(err as Error).message})`, { cause: err }), {
      code: PROVIDER_PACKAGE_MISSING,
    });
  }
}

/**
 * Counters of a {@link CredentialCache}.
 *
 * @example
 * const { resolutions, staleServed }: CredentialCacheStats = cache.stats();
 */
export interface CredentialCacheStats {
  /** Times the underlying provider was called (successfully or not). */
  readonly resolutions: number;
  /** Provider calls that failed (including those ridden out with the credentials in hand). */
  readonly failures: number;
  /** Lookups answered with the credentials in hand because re-resolving them failed (static stability). */
  readonly staleServed: number;
}

/**
 * What {@link CredentialCache.lookup} returns.
 *
 * @example
 * const { credentials, stale }: CredentialLookup = await cache.lookup();
 */
export interface CredentialLookup {
  readonly credentials: AwsCredentials;
  /**
   * True when re-resolving failed and these are the credentials already in hand: unexpired,
   * but inside their refresh window.
   */
  readonly stale: boolean;
}

/**
 * Resolves credentials once and reuses them until they near expiry (5 minutes before, or
 * half their lifetime for very short-lived ones); concurrent callers share one resolution.
 *
 * Static stability: because credentials are re-resolved well before they expire, an outage of
 * the credential source at that moment (IMDS or the container endpoint throttling or
 * restarting, STS timing out) does not reach callers. When re-resolving fails and the
 * credentials in hand are still valid for more than a safety margin (5 s, or a tenth of their
 * lifetime if shorter), they are served instead (`stale: true` from {@link lookup}, counted in
 * `stats().staleServed`). While they are served, the source is asked again in the background,
 * at most once per backoff (0.5 s, doubling per failure, at most 30 s) and never by more than
 * one call at a time; callers do not wait for it. The first attempt of an outage is awaited
 * (its caller waits for the provider's own timeout). Only when there are no credentials, or
 * those in hand are past the safety margin, does a failure surface: a
 * {@link DsqlCredentialsError} naming the source, never a secret, with `transient: true` when
 * the source was unreachable, timed out, throttled or answered 5xx.
 *
 * @example
 * const cache = new CredentialCache({ profile: 'dev', region: 'us-east-1' });
 * const creds = await cache.get();
 */
export class CredentialCache {
  readonly source: string;
  readonly #src: CredentialSource;
  readonly #now: () => number;
  #provider: Promise<AwsCredentialsProvider> | undefined;
  #current: AwsCredentials | undefined;
  #fresh: CredentialLookup | undefined;
  #refreshAt = 0;
  /** Until when the credentials in hand may be served when re-resolving fails. */
  #usableUntil = 0;
  #failuresInRow = 0;
  /** No new attempt in the background before this, while serving the credentials in hand. */
  #retryAt = 0;
  #pending: Promise<AwsCredentials> | undefined;
  #resolutions = 0;
  #failures = 0;
  #staleServed = 0;

  constructor(source: CredentialSource, options: { now?: () => number } = {}) {
    this.#src = { ...source };
    this.source = describeCredentialSource(source);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Current credentials, resolving them if there are none yet or they are about to expire;
   * during an outage of the source, the unexpired credentials in hand (see the class).
   *
   * @example
   * const { accessKeyId } = await cache.get();
   */
  get(): Promise<AwsCredentials> {
    if (this.#current !== undefined && this.#now() < this.#refreshAt) return Promise.resolve(this.#current);
    return this.#lookupSlow().then((found) => found.credentials);
  }

  /**
   * Like {@link get}, and says whether the credentials are the ones in hand served because
   * re-resolving them failed (`stale`). A token signer uses it to keep a still-valid token
   * instead of signing a new one that would expire no later.
   *
   * @example
   * const { credentials, stale } = await cache.lookup();
   */
  lookup(): Promise<CredentialLookup> {
    if (this.#fresh !== undefined && this.#now() < this.#refreshAt) return Promise.resolve(this.#fresh);
    return this.#lookupSlow();
  }

  #lookupSlow(): Promise<CredentialLookup> {
    const held = this.#current;
    const now = this.#now();
    if (held !== undefined && this.#failuresInRow > 0 && now < this.#usableUntil) {
      // Riding out an outage: answer at once; ask the source again in the background once the backoff allows.
      if (this.#pending === undefined && now >= this.#retryAt) this.#refresh().catch(() => {});
      return Promise.resolve(this.#serveStale(held));
    }
    return this.#refresh().then(
      (credentials) => this.#fresh ?? { credentials, stale: false },
      (err: unknown) => {
        const inHand = this.#current;
        if (inHand !== undefined && this.#now() < this.#usableUntil) return this.#serveStale(inHand);
        throw err;
      },
    );
  }

  #serveStale(credentials: AwsCredentials): CredentialLookup {
    this.#staleServed++;
    return { credentials, stale: true };
  }

  /** One resolution at a time, shared by every caller. */
  #refresh(): Promise<AwsCredentials> {
    return (this.#pending ??= this.#resolve().finally(() => {
      this.#pending = undefined;
    }));
  }

  async #resolve(): Promise<AwsCredentials> {
    this.#resolutions++;
    const observed = channels.credentialsResolved.hasSubscribers ? monotonicMs() : undefined;
    try {
      const creds = await this.#call();
      this.#failuresInRow = 0;
      if (observed !== undefined) this.#publish(observed, 'ok', undefined);
      return creds;
    } catch (err) {
      if (observed !== undefined) this.#publish(observed, 'error', err instanceof DsqlCredentialsError ? err.transient : undefined);
      this.#failures++;
      this.#failuresInRow++;
      this.#retryAt = this.#now() + retryDelayMs(this.#failuresInRow);
      throw err;
    }
  }

  /** `dsql:credentials:resolved`: the source's description and kind, never a value. */
  #publish(started: number, outcome: 'ok' | 'error', transient: boolean | undefined): void {
    if (!channels.credentialsResolved.hasSubscribers) return;
    const c = this.#src.credentials;
    const sourceKind = c !== undefined ? (typeof c === 'function' ? 'provider' : 'static') : this.#src.profile !== undefined ? 'profile' : 'default_chain';
    channels.credentialsResolved.publish({ source: this.source, sourceKind, region: this.#src.region, outcome, transient, durationMs: monotonicMs() - started });
  }

  /** What to do about a provider's failure. */
  #failureHint(cause: Error, transient: boolean): string {
    if ((cause as { code?: unknown }).code === PROVIDER_PACKAGE_MISSING) {
      return 'No credentials were given and none are in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), or a profile was asked for: that needs the SDK package named above, which is not installed or was left out of the bundle. Ship it (do not mark it external), or pass credentials / set them in the environment.';
    }
    if (transient) {
      return 'The source of AWS credentials did not answer (network error, timeout, throttling or a 5xx). This usually passes and connection attempts are retried within their deadline; if it persists, check the instance or task role and its credential endpoint.';
    }
    return this.#src.profile !== undefined
      ? `Check that profile "${this.#src.profile}" exists and is logged in (aws sso login --profile ${this.#src.profile}), or pass credentials explicitly.`
      : 'Configure credentials (environment variables, AWS_PROFILE, SSO login, an instance or task role) or pass credentials / profile explicitly.';
  }

  async #call(): Promise<AwsCredentials> {
    let creds: AwsCredentials;
    try {
      this.#provider ??= providerFor(this.#src);
      creds = await (await this.#provider)();
    } catch (err) {
      this.#provider = undefined;
      const cause = err instanceof Error ? err : new Error(String(err));
      const transient = await isTransientCredentialFailure(cause);
      throw new DsqlCredentialsError(this.source, `Could not get AWS credentials from ${this.source}: ${redact(cause.message)}`, {
        cause,
        transient,
        hint: this.#failureHint(cause, transient),
      });
    }
    if (typeof creds?.accessKeyId !== 'string' || typeof creds.secretAccessKey !== 'string') {
      throw new DsqlCredentialsError(this.source, `${this.source} returned something that is not AWS credentials.`, {
        hint: 'A provider must resolve to { accessKeyId, secretAccessKey, sessionToken?, expiration? }.',
      });
    }
    const now = this.#now();
    const expiresAt = creds.expiration?.getTime();
    if (expiresAt !== undefined && expiresAt <= now) {
      throw new DsqlCredentialsError(this.source, `The credentials from ${this.source} expired at ${new Date(expiresAt).toISOString()}.`, {
        hint: 'Refresh them (e.g. aws sso login) or pass a provider function instead of a fixed identity.',
      });
    }
    this.#current = creds;
    this.#fresh = { credentials: creds, stale: false };
    if (expiresAt === undefined) {
      this.#refreshAt = this.#usableUntil = Number.POSITIVE_INFINITY;
    } else {
      this.#refreshAt = expiresAt - Math.min(EXPIRY_MARGIN_MS, (expiresAt - now) / 2);
      this.#usableUntil = expiresAt - safetyMarginMs(expiresAt - now);
    }
    return creds;
  }

  /**
   * Counters since creation.
   *
   * @example
   * cache.stats().resolutions // 1
   */
  stats(): CredentialCacheStats {
    return { resolutions: this.#resolutions, failures: this.#failures, staleServed: this.#staleServed };
  }

  /** Never shows the credentials. */
  [inspect.custom](): string {
    return `CredentialCache { source: ${JSON.stringify(this.source)}, resolutions: ${this.#resolutions} }`;
  }
}

/**
 * The process-wide {@link CredentialCache} for a source: one per explicit credentials object or
 * provider function (by identity), one per profile and Region, one for the default chain.
 * Bounded: the cache of an explicit object lives exactly as long as that object is reachable
 * elsewhere (create credentials per request and nothing accumulates); the cache of a profile or
 * of the default chain is kept while a token provider uses it and for 15 minutes after its last
 * lookup, then left to the garbage collector.
 *
 * @example
 * const cache = sharedCredentialCache({ profile: 'dev' });
 */
export function sharedCredentialCache(source: CredentialSource): CredentialCache {
  const caches = sharedCaches();
  const c = source.credentials;
  if (c !== undefined) {
    let cache = caches.byObject.get(c);
    if (cache === undefined) caches.byObject.set(c, (cache = new CredentialCache(source)));
    return cache;
  }
  return caches.byName.get(namedCredentialSourceKey(source), () => new CredentialCache(source));
}

/** Test hook: forget shared caches. @internal */
export function resetSharedCredentialCaches(): void {
  const caches = sharedCaches();
  caches.byObject = new WeakMap();
  caches.byName.clear();
}

/** Test hook: counts of the name-keyed shared caches. @internal */
export function sharedCredentialCacheStats(): SharedRegistryStats {
  return sharedCaches().byName.stats();
}
