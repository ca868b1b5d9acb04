/**
 * `@dsql/drizzle/postgres-js`: `drizzle()` for Postgres.js on Aurora DSQL — Drizzle's own
 * `drizzle-orm/postgres-js` database over an `sql` from `@dsql/postgres`, with DSQL transactions.
 */
import type { DrizzleConfig } from 'drizzle-orm';
import { drizzle as drizzlePostgresJs, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { Sql } from 'postgres';
import { dsql, type DsqlPostgresOptions } from '@dsql/postgres';
import { parseDrizzleArguments, type DsqlDrizzleConfig } from './arguments.js';
import { installDsqlTransactions } from './transaction.js';

export type { DsqlDrizzleConfig } from './arguments.js';

/**
 * A Drizzle Postgres.js database whose client is `TClient` (an `sql` from `dsql()` unless you brought your own).
 *
 * @example
 * const db: DsqlPostgresJsDatabase<typeof schema> = drizzle({ connection: { host }, schema });
 */
export type DsqlPostgresJsDatabase<TSchema extends Record<string, unknown> = Record<string, never>, TClient extends Sql = Sql> =
  PostgresJsDatabase<TSchema> & { $client: TClient };

/** Connection options: the shared DSQL options plus Postgres.js's own, or a URL (`url`, as in Drizzle). */
type ConnectionOptions = DsqlPostgresOptions & { url?: string };

/**
 * Creates a Drizzle database (Postgres.js driver) for Aurora DSQL. Same call shapes as
 * `drizzle-orm/postgres-js`: `drizzle(url, config?)`, `drizzle({ connection: url | options, schema })`
 * (an `sql` from `@dsql/postgres`'s `dsql()`: IAM tokens, TLS verify-full, jittered lifetimes,
 * connect rate limiting), the options given directly, or `drizzle(sql, config?)` /
 * `drizzle({ client: sql, schema })` with your own `sql`.
 *
 * `db.transaction` retries OCC conflicts when `retry` is configured (retry is done here, so the
 * `sql` created from `connection` is given no `retry` of its own), reports a lost COMMIT as
 * `CommitOutcomeUnknownError`, and refuses nested transactions (savepoints) and transaction
 * options (Drizzle sends them with `SET TRANSACTION`, which DSQL refuses) with
 * `DsqlUnsupportedError` — so does a second transaction on the same client (`db.transaction()`,
 * `transaction(db, …)`, `pool.transaction()` / `sql.begin()`) started inside a running callback
 * (`detectNestedTransactions: false` turns that off). A retried callback may run more than once: no side effects outside the
 * database. Bring an `sql` with its own `retry`, or set `retry` here — not both, or attempts multiply.
 *
 * @example
 * import { drizzle } from '@dsql/drizzle/postgres-js';
 *
 * const db = drizzle({ connection: { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', max: 10 }, schema, retry: true });
 * await db.insert(users).values({ name: 'Ada' });
 * await db.$client.end();
 */
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>, TClient extends Sql = Sql>(
  client: TClient | string,
  config?: DsqlDrizzleConfig<TSchema>,
): DsqlPostgresJsDatabase<TSchema, TClient>;
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>, TClient extends Sql = Sql>(
  config: DsqlDrizzleConfig<TSchema> & { client: TClient },
): DsqlPostgresJsDatabase<TSchema, TClient>;
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>>(
  config?: DsqlDrizzleConfig<TSchema> & ({ connection: string | ConnectionOptions } | DsqlPostgresOptions),
): DsqlPostgresJsDatabase<TSchema, Sql>;
export function drizzle(...params: unknown[]): DsqlPostgresJsDatabase<Record<string, unknown>, Sql> {
  const args = parseDrizzleArguments(params);
  let client = args.client as Sql | undefined;
  if (!client) {
    if (typeof args.connection === 'string') client = dsql(args.connection) as Sql;
    else {
      // Retry happens in db.transaction; an sql.begin that retried too would multiply attempts.
      const { url, retry: _retry, ...options } = (args.connection ?? {}) as ConnectionOptions;
      client = (url === undefined ? dsql(options) : dsql(url, options)) as Sql;
    }
  }
  const db = drizzlePostgresJs(client, args.config as DrizzleConfig<Record<string, unknown>>);
  return installDsqlTransactions(db, args.retry, args.detectNestedTransactions ?? true) as DsqlPostgresJsDatabase<Record<string, unknown>, Sql>;
}

export { transaction, type TransactionRetry, type TransactionConfig, type TransactionOf, type TransactionalDatabase } from './transaction.js';
/** `dsqlStats(db)`: the `DsqlStats` of the pool or `sql` the database runs on (`@dsql/core`'s, the same shape in every adapter). */
export { dsqlStats, type DsqlStats } from '@dsql/core';
