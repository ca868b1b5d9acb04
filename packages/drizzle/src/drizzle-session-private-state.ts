/**
 * Checkout and release of the client a node-postgres Drizzle transaction runs on.
 *
 * Drizzle's `NodePgSession.transaction()` on a pool checks a client out, then sends BEGIN
 * *before* the `try … finally` that releases it (drizzle-orm 0.36–0.45). A BEGIN that fails —
 * the connection died while idle in the pool (an endpoint restart, a failover, DSQL's 60-minute
 * limit racing the checkout), or the server refused it — leaves the client checked out for
 * good: the pool loses a slot, and `pool.end()` waits for it forever. It also releases a client
 * whose COMMIT answer was lost or whose ROLLBACK failed as if it were healthy.
 *
 * So for a session over a pool, the transaction checks the client out here and runs Drizzle's
 * own transaction (its BEGIN with options, `NodePgTransaction`, logger, cache) on a view of the
 * session bound to that client — Drizzle's path for a single client, which checks nothing out
 * and releases nothing — and releases the client here, exactly once.
 */
import { entityKind } from 'drizzle-orm';

/** A pg-pool client as `pool.connect()` hands it out. */
export interface PooledClient {
  /** Returns the client to the pool; with an error, closes it and removes it from the pool. */
  release(err?: Error | boolean): void;
}

/** What the bound session needs of a pool: `connect()` (promise form). */
interface Pool {
  connect(): Promise<PooledClient>;
}

/** Drizzle's node-postgres session, as far as this module uses it. */
export interface NodePgPoolSession {
  readonly client: Pool;
  transaction(fn: (tx: never) => Promise<unknown>, config?: unknown): Promise<unknown>;
}

function entityKindOf(value: object): unknown {
  return (value.constructor as { [entityKind]?: unknown } | undefined)?.[entityKind];
}

/**
 * Drizzle's node-postgres session of `db` when its client is a pool (by Drizzle's own test: a
 * constructor whose name contains `Pool`), else undefined (a single client, Postgres.js, other
 * drivers: their transactions are left to Drizzle).
 *
 * @example
 * const session = nodePgPoolSession(db); // DsqlPool or pg.Pool behind a drizzle() database
 */
export function nodePgPoolSession(db: unknown): NodePgPoolSession | undefined {
  const d = db as { _?: { session?: unknown }; session?: unknown } | null;
  const session = (d?._?.session ?? d?.session) as Partial<NodePgPoolSession> | undefined;
  if (typeof session !== 'object' || session === null || entityKindOf(session) !== 'NodePgSession') return undefined;
  const client = session.client as { connect?: unknown } | undefined;
  if (typeof client !== 'object' || client === null || typeof client.connect !== 'function') return undefined;
  const poolName = (Object.getPrototypeOf(client) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof poolName === 'string' && poolName.includes('Pool') ? (session as NodePgPoolSession) : undefined;
}

/**
 * A view of `session` whose queries and transaction run on `client` (every other property —
 * dialect, schema, logger, cache — is the session's own).
 *
 * @example
 * const client = await session.client.connect();
 * try { await bindSession(session, client).transaction(fn); } finally { client.release(); }
 */
export function bindSession(session: NodePgPoolSession, client: PooledClient): NodePgPoolSession {
  return Object.create(session, { client: { value: client, enumerable: true } }) as NodePgPoolSession;
}
