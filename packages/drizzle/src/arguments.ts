/**
 * The call shapes of Drizzle's `drizzle()` (a URL, a client, `{ client }`, `{ connection }`),
 * plus the shared DSQL options given directly, sorted into what the driver needs and what
 * Drizzle needs. Shared by both drivers.
 */
import type { DrizzleConfig } from 'drizzle-orm';
import { DsqlConfigError, resolveDetectNestedTransactions } from '@dsql/core';
import type { TransactionRetry } from './transaction.js';

/**
 * Drizzle's config plus `retry`: OCC retry of `db.transaction` (retry options or `true`;
 * default: none, as in Drizzle), for either driver's `drizzle()`. `transaction(db, fn)` retries either way.
 *
 * @example
 * const config: DsqlDrizzleConfig<typeof schema> = { schema, retry: { maxAttempts: 5 } };
 */
export type DsqlDrizzleConfig<TSchema extends Record<string, unknown> = Record<string, never>> = DrizzleConfig<TSchema> & {
  retry?: TransactionRetry;
  /**
   * Refuse a transaction started on this database's pool or `sql` (`db.transaction()`,
   * `transaction(db, …)`, `pool.transaction()`, `sql.begin()`) from inside a running transaction
   * callback of it, with `DsqlUnsupportedError`, before a connection is checked out (default
   * `true`). Given in the connection options, it also configures the pool's or `sql`'s own check.
   */
  detectNestedTransactions?: boolean;
};

/** Keys of Drizzle's own `DrizzleConfig` (and this package's `retry`, `detectNestedTransactions`). */
const DRIZZLE_KEYS = ['schema', 'logger', 'casing', 'cache', 'retry', 'detectNestedTransactions'] as const;

/** What `drizzle()` was asked for, sorted. */
export interface DrizzleArguments {
  /** A client to use as it is. */
  client?: unknown;
  /** Options (or a URL) to create the driver's client from. */
  connection?: string | Record<string, unknown>;
  /** Drizzle's own options (`schema`, `logger`, `casing`, `cache`). */
  config: Record<string, unknown>;
  /** Retry of `db.transaction`, when configured. */
  retry?: TransactionRetry;
  /** The nested-transaction check of `db.transaction` / `transaction()`, when configured. */
  detectNestedTransactions?: boolean;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function take(from: Record<string, unknown>): { drizzle: Record<string, unknown>; rest: Record<string, unknown> } {
  const drizzle: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(from)) {
    if ((DRIZZLE_KEYS as readonly string[]).includes(key)) drizzle[key] = value;
    else rest[key] = value;
  }
  return { drizzle, rest };
}

/** `detectNestedTransactions` as given (validated by core), `undefined` when not configured. */
function detectOption(value: unknown): boolean | undefined {
  return value === undefined ? undefined : resolveDetectNestedTransactions(value);
}

/** Takes this package's own keys (`retry`, `detectNestedTransactions`) out of Drizzle's config. */
function withoutRetry(config: Record<string, unknown>): { config: Record<string, unknown>; retry?: TransactionRetry; detectNestedTransactions?: boolean } {
  const { retry, detectNestedTransactions, ...rest } = config;
  const detect = detectOption(detectNestedTransactions);
  return {
    config: rest,
    ...(retry === undefined ? {} : { retry: retry as TransactionRetry }),
    ...(detect === undefined ? {} : { detectNestedTransactions: detect }),
  };
}

/**
 * Sorts `drizzle()`'s arguments. A plain object with `client` or `connection` is Drizzle's
 * config; any other plain object is the connection options themselves, from which Drizzle's
 * keys (`schema`, `logger`, `casing`, `cache`, `retry`) are taken out.
 *
 * @example
 * parseDrizzleArguments([{ host: 'localhost', region: 'us-east-1', schema }]);
 * // → { connection: { host: 'localhost', region: 'us-east-1' }, config: { schema } }
 */
export function parseDrizzleArguments(params: readonly unknown[]): DrizzleArguments {
  const [first, second] = params;
  if (second !== undefined && !isPlainObject(second)) {
    throw new DsqlConfigError('drizzle() second argument', typeof second, "Drizzle's config object ({ schema, logger, casing, retry })");
  }
  const extra = withoutRetry(second ?? {});
  if (typeof first === 'string') return { connection: first, ...extra };
  if (first === undefined) return { connection: {}, ...extra };
  if (!isPlainObject(first)) {
    // A pg Pool/Client is an object; a Postgres.js `sql` is a function.
    if ((typeof first !== 'object' && typeof first !== 'function') || first === null) {
      throw new DsqlConfigError('drizzle() first argument', typeof first, 'a URL, a client, or an options object');
    }
    return { client: first, ...extra };
  }
  if (second !== undefined) {
    throw new DsqlConfigError('drizzle() arguments', 'an options object and a second argument', 'one options object ({ connection | client, schema, … })');
  }
  if ('client' in first || 'connection' in first) {
    const { client, connection, ...others } = first;
    const { drizzle, rest } = take(others);
    const unknown = Object.keys(rest);
    if (unknown.length) {
      throw new DsqlConfigError(
        'drizzle() options',
        `unknown key(s) ${unknown.join(', ')} beside ${client !== undefined ? 'client' : 'connection'}`,
        `Drizzle's keys (${DRIZZLE_KEYS.join(', ')}); connection options go inside "connection"`,
      );
    }
    if (client !== undefined && client !== null) return { client, ...withoutRetry(drizzle) };
    if (connection !== undefined && typeof connection !== 'string' && !isPlainObject(connection)) {
      throw new DsqlConfigError('connection', typeof connection, 'a URL or a connection options object');
    }
    const options = (connection ?? {}) as string | Record<string, unknown>;
    const sorted = withoutRetry(drizzle);
    // A `retry` inside the connection options configures db.transaction too.
    const retry = sorted.retry ?? (typeof options === 'object' ? (options.retry as TransactionRetry | undefined) : undefined);
    // So does `detectNestedTransactions` (the pool or sql keeps it too, for its own methods).
    const detect = sorted.detectNestedTransactions ?? (typeof options === 'object' ? detectOption(options.detectNestedTransactions) : undefined);
    return {
      connection: options,
      config: sorted.config,
      ...(retry === undefined ? {} : { retry }),
      ...(detect === undefined ? {} : { detectNestedTransactions: detect }),
    };
  }
  const { drizzle, rest } = take(first);
  const sorted = withoutRetry(drizzle);
  // Shared options given directly: `retry` and `detectNestedTransactions` serve both the client and db.transaction.
  const connection = { ...rest };
  if (sorted.retry !== undefined) connection.retry = sorted.retry;
  if (sorted.detectNestedTransactions !== undefined) connection.detectNestedTransactions = sorted.detectNestedTransactions;
  return { connection, ...sorted };
}
