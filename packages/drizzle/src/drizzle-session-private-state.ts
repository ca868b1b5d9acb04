/**
 * The one place this package reads Drizzle's private state: the node-postgres session behind a
 * database (`db._.session`: its `client`, `dialect` and `schema` fields), to run a transaction
 * through @dsql/core's runner instead of `NodePgSession.transaction()`.
 *
 * Why: Drizzle's `NodePgSession.transaction()` (drizzle-orm 0.36–0.45, this package's peer range)
 * checks a pool client out and sends BEGIN *before* the `try … finally` that releases it, so a
 * BEGIN that fails (a connection that died idle in the pool, a failover, DSQL's 60-minute limit)
 * leaves the client checked out for good — the pool loses a slot and `pool.end()` waits forever;
 * it also ignores COMMIT's answer (a COMMIT answered ROLLBACK passes for success) and releases a
 * client whose COMMIT answer was lost or whose ROLLBACK failed as if it were healthy. Drizzle has
 * no public hook for any of this. So core's runner (`runTransaction`) owns the connection and
 * BEGIN / COMMIT / ROLLBACK, and the callback gets Drizzle's own public `NodePgTransaction`
 * (query builder, relational queries, logger, cache) over the session bound to that client.
 * `test/drizzle-session-private-state.test.ts` fails when a supported drizzle-orm version changes
 * what is read here.
 */
import { entityKind } from 'drizzle-orm';
import type { PoolClient } from 'pg';

/** A node-postgres client as `pool.connect()` hands it out (`release`), or a single client (pg's own types). */
export type NodePgClient = Pick<PoolClient, 'query' | 'on' | 'removeListener'> & Partial<Pick<PoolClient, 'release'>>;

/** Drizzle's `NodePgSession`, the fields read here. */
export interface NodePgSessionState {
  readonly client: NodePgClient & { connect?(): Promise<NodePgClient> };
  readonly dialect: unknown;
  readonly schema: unknown;
}

/** What a transaction callback gets: Drizzle's `NodePgTransaction`, as far as this package uses it. */
export interface NodePgTransactionLike {
  execute(query: unknown): Promise<{ command?: string }>;
  getTransactionConfigSQL(config: object): unknown;
}

/**
 * Drizzle's node-postgres session of `db` (by its entity kind), else `undefined` (Postgres.js and
 * other drivers: their transactions are left to Drizzle).
 *
 * @example
 * const session = nodePgSessionOf(db); // a drizzle() database over a DsqlPool, pg.Pool or pg.Client
 */
export function nodePgSessionOf(db: unknown): NodePgSessionState | undefined {
  const d = db as { _?: { session?: unknown }; session?: unknown } | null;
  const session = (d?._?.session ?? d?.session) as Partial<NodePgSessionState> | undefined;
  if (typeof session !== 'object' || session === null) return undefined;
  if ((session.constructor as { [entityKind]?: unknown } | undefined)?.[entityKind] !== 'NodePgSession') return undefined;
  return typeof session.client?.query === 'function' ? (session as NodePgSessionState) : undefined;
}

/**
 * True when the session's client is a pool, by Drizzle's own test (a constructor whose name
 * contains `Pool`): a transaction then checks a client out of it.
 *
 * @example
 * if (isPool(session)) client = await session.client.connect!();
 */
export function isPool(session: NodePgSessionState): boolean {
  const name = (Object.getPrototypeOf(session.client) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof session.client.connect === 'function' && typeof name === 'string' && name.includes('Pool');
}

/**
 * Drizzle's `NodePgTransaction` on `client`: the session seen through a view whose `client` is
 * the checked-out one (every other field — dialect, schema, logger, cache — is the session's), as
 * Drizzle's own `transaction()` builds it. drizzle-orm/node-postgres is loaded here, not at
 * import: the Postgres.js entry of this package never needs it.
 *
 * @example
 * const tx = await transactionOn(session, await session.client.connect!());
 * await tx.execute(sql`select 1`);
 */
export async function transactionOn(session: NodePgSessionState, client: NodePgClient): Promise<NodePgTransactionLike> {
  const { NodePgTransaction } = await import('drizzle-orm/node-postgres');
  const view = Object.create(session, { client: { value: client, enumerable: true } }) as object;
  type Ctor = new (dialect: unknown, session: object, schema: unknown) => NodePgTransactionLike;
  return new (NodePgTransaction as unknown as Ctor)(session.dialect, view, session.schema);
}
