/**
 * `drizzle()` for node-postgres on Aurora DSQL: Drizzle's own `drizzle-orm/node-postgres`
 * database over a `DsqlPool`, with DSQL transactions.
 */
import type { DrizzleConfig } from 'drizzle-orm';
import { drizzle as drizzleNodePg, type NodePgClient, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { DsqlPool, type DsqlPoolConfig } from '@dsql/pg';
import { parseDrizzleArguments, type DsqlDrizzleConfig } from './arguments.js';
import { installDsqlTransactions } from './transaction.js';

export type { DsqlDrizzleConfig } from './arguments.js';

/**
 * A Drizzle node-postgres database whose client is `TClient` (a `DsqlPool` unless you brought your own).
 *
 * @example
 * const db: DsqlNodePgDatabase<typeof schema> = drizzle({ connection: { host }, schema });
 */
export type DsqlNodePgDatabase<
  TSchema extends Record<string, unknown> = Record<string, never>,
  TClient extends NodePgClient = DsqlPool,
> = NodePgDatabase<TSchema> & { $client: TClient };

/**
 * Creates a Drizzle database (node-postgres driver) for Aurora DSQL. Same call shapes as
 * `drizzle-orm/node-postgres`:
 *
 * - `drizzle(url, config?)` and `drizzle({ connection: url | options, schema, … })` create a
 *   `DsqlPool` from the shared DSQL options (`host`, `region`, `user`, `credentials`, `retry`, …)
 *   plus any `pg.Pool` option;
 * - `drizzle({ host, region, …, schema })`: the options given directly;
 * - `drizzle(client, config?)` and `drizzle({ client, schema })` use your `DsqlPool`/`DsqlClient`
 *   (or any pg client).
 *
 * The result is a normal `NodePgDatabase` (`db.$client` is the pool), except `db.transaction`:
 * it retries OCC conflicts when `retry` is configured (in the config, or in the connection
 * options), reports a lost COMMIT as `CommitOutcomeUnknownError` (never retried) and a COMMIT
 * answered ROLLBACK (an error caught inside the callback) as `DsqlTransactionRolledBackError`, and refuses
 * nested transactions (savepoints) and isolation levels other than repeatable read with
 * `DsqlUnsupportedError` — so does a second transaction on the same client (`db.transaction()`,
 * `transaction(db, …)`, `pool.transaction()` / `sql.begin()`) started inside a running callback
 * (`detectNestedTransactions: false` turns that off), before anything is sent. A retried callback may run more than once: it
 * must not have side effects outside the database. A pool's checked-out clients get an `error`
 * listener while Drizzle holds them, so a connection lost mid-transaction fails the transaction
 * instead of the process. A transaction's client goes back to the pool exactly once, also when
 * BEGIN fails (which Drizzle's own session does not handle), and is closed instead of reused when
 * BEGIN or COMMIT went unanswered or ROLLBACK failed.
 *
 * @example
 * import { drizzle } from '@dsql/drizzle';
 * import * as schema from './schema.js';
 *
 * const db = drizzle({ connection: { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', max: 10 }, schema, retry: true });
 * const users = await db.query.users.findMany({ with: { posts: true } });
 * await db.$client.end();
 */
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>, TClient extends NodePgClient = DsqlPool>(
  client: TClient | string,
  config?: DsqlDrizzleConfig<TSchema>,
): DsqlNodePgDatabase<TSchema, TClient>;
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>, TClient extends NodePgClient = DsqlPool>(
  config: DsqlDrizzleConfig<TSchema> & { client: TClient },
): DsqlNodePgDatabase<TSchema, TClient>;
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>>(
  config?: DsqlDrizzleConfig<TSchema> & ({ connection: string | DsqlPoolConfig } | DsqlPoolConfig),
): DsqlNodePgDatabase<TSchema, DsqlPool>;
export function drizzle(...params: unknown[]): DsqlNodePgDatabase<Record<string, unknown>, NodePgClient> {
  const args = parseDrizzleArguments(params);
  const client = (args.client ??
    (typeof args.connection === 'string' ? new DsqlPool(args.connection) : new DsqlPool(args.connection as DsqlPoolConfig))) as NodePgClient;
  const db = drizzleNodePg(client, args.config as DrizzleConfig<Record<string, unknown>>);
  return installDsqlTransactions(db, args.retry, args.detectNestedTransactions ?? true) as DsqlNodePgDatabase<Record<string, unknown>, NodePgClient>;
}
