/**
 * The pools of the process, as their adapters register them: where `dsqlStats()` finds a pool's
 * counters, and where `@dsql/opentelemetry`'s `db.client.connection.count` reads the connection
 * counts of every live pool. Weakly held: registering a pool keeps nothing alive, and an ended
 * or collected pool leaves the list.
 */
import { processWide } from '../shared-registry.js';
import { UNKNOWN_CONNECTIONS, type DsqlConnectionCounts, type DsqlStats, type DsqlStatsRecorder } from './stats.js';

/**
 * What a pool registers: its session's counters and where it connects (a `DsqlSession` fits).
 *
 * @example
 * const source: DsqlPoolSource = createDsqlSession({ host });
 */
export interface DsqlPoolSource {
  readonly stats: DsqlStatsRecorder;
  readonly config: { readonly host: string; readonly port: number; readonly database: string; readonly region: string };
}

interface Entry {
  readonly ref: WeakRef<object>;
  readonly recorder: DsqlStatsRecorder;
  readonly name: string;
  readonly endpoint: string;
  readonly region: string;
  /** Reads the pool's counts from the pool itself (never a closure over it: the entry must not hold the pool). */
  readonly read: ((owner: never) => DsqlConnectionCounts) | undefined;
}

interface Registry {
  readonly byOwner: WeakMap<object, Entry>;
  /** Objects whose stats are another's (a Drizzle database → its pool, a Kysely dialect → its pool or `sql`). */
  readonly aliases: WeakMap<object, WeakRef<object>>;
  /** Pools not ended yet, for the connection-count metric. */
  readonly live: Set<Entry>;
  readonly finalizer: FinalizationRegistry<Entry>;
}

function registry(): Registry {
  return processWide('@dsql/core/pools/v1', () => {
    const live = new Set<Entry>();
    return { byOwner: new WeakMap(), aliases: new WeakMap(), live, finalizer: new FinalizationRegistry<Entry>((entry) => live.delete(entry)) };
  });
}

/**
 * Registers `owner` (a pool or `sql`) created on `session`: `dsqlStats(owner)` then answers, and
 * the connection-count metric reads `read(owner)` while the pool lives. `read` receives the owner
 * (it must not close over it). For adapters.
 *
 * @example
 * registerDsqlPool(this, session, (pool: pg.Pool) => ({ open: pool.totalCount, idle: pool.idleCount, used: pool.totalCount - pool.idleCount, pending: pool.waitingCount }));
 */
export function registerDsqlPool<O extends object>(owner: O, session: DsqlPoolSource, read?: (owner: O) => DsqlConnectionCounts): void {
  const { host, port, database, region } = session.config;
  const reg = registry();
  const previous = reg.byOwner.get(owner);
  if (previous !== undefined) reg.live.delete(previous);
  // OpenTelemetry's database conventions: a pool without a name of its own is named server.address:server.port/db.namespace.
  const entry: Entry = { ref: new WeakRef(owner), recorder: session.stats, name: `${host}:${port}/${database}`, endpoint: host, region, read: read as Entry['read'] };
  reg.byOwner.set(owner, entry);
  reg.live.add(entry);
  reg.finalizer.register(owner, entry);
}

/**
 * The pool ended: it leaves the connection-count metric (its `dsqlStats()` stays readable).
 *
 * @example
 * unregisterDsqlPool(pool);
 */
export function unregisterDsqlPool(owner: object): void {
  const reg = registry();
  const entry = reg.byOwner.get(owner);
  if (entry !== undefined) reg.live.delete(entry);
}

/**
 * Makes `dsqlStats(alias)` answer with `target`'s stats (a Drizzle database and its pool, a Kysely
 * dialect and its pool or `sql`). Weak both ways. For adapters.
 *
 * @example
 * aliasDsqlStats(db, pool);
 */
export function aliasDsqlStats(alias: object, target: object): void {
  if (alias !== target) registry().aliases.set(alias, new WeakRef(target));
}

function entryOf(owner: unknown): { entry: Entry; owner: object } | undefined {
  if ((typeof owner !== 'object' && typeof owner !== 'function') || owner === null) return undefined;
  const reg = registry();
  let target: object | undefined = owner;
  // A few hops at most (Drizzle database → pool); bounded so a cycle cannot hang.
  for (let hop = 0; hop < 4 && target !== undefined; hop++) {
    const entry = reg.byOwner.get(target);
    if (entry !== undefined) return { entry, owner: target };
    target = reg.aliases.get(target)?.deref();
  }
  return undefined;
}

function countsOf(entry: Entry, owner: object): DsqlConnectionCounts {
  if (entry.read === undefined) return UNKNOWN_CONNECTIONS;
  try {
    return entry.read(owner as never);
  } catch {
    // A driver whose counters cannot be read (ended, changed) must not break stats() or a metric export.
    return UNKNOWN_CONNECTIONS;
  }
}

/**
 * The {@link DsqlStats} of a pool, `sql`, Kysely dialect or Drizzle database of the `@dsql/*`
 * adapters (`undefined` for anything else). Every adapter answers with the same shape.
 *
 * @example
 * import { dsqlStats } from '@dsql/core';
 * const { connections, connectAttempts, transactions } = dsqlStats(pool)!;
 */
export function dsqlStats(owner: unknown): DsqlStats | undefined {
  const found = entryOf(owner);
  return found === undefined ? undefined : found.entry.recorder.snapshot(countsOf(found.entry, found.owner));
}

/**
 * The counters `owner` (a pool, `sql`, or an alias of one) registered with, so that an adapter
 * running transactions on a pool it did not create (Kysely, Drizzle) counts them in that pool's
 * stats. `undefined` for anything not registered.
 *
 * @example
 * runManagedTransaction(run, retry, undefined, dsqlStatsRecorderOf(db.$client));
 */
export function dsqlStatsRecorderOf(owner: unknown): DsqlStatsRecorder | undefined {
  return entryOf(owner)?.entry.recorder;
}

/**
 * A live pool as the connection-count metric reports it.
 *
 * @example
 * for (const { name, connections } of dsqlPools()) gauge.observe(connections.idle ?? 0, { 'db.client.connection.pool.name': name, 'db.client.connection.state': 'idle' });
 */
export interface DsqlPoolSnapshot {
  /** `host:port/database` (OpenTelemetry's naming for pools without a name of their own; not unique: several pools may share it). */
  readonly name: string;
  readonly endpoint: string;
  readonly region: string;
  readonly connections: DsqlConnectionCounts;
}

/**
 * The pools of the process not ended yet, with their connection counts now.
 *
 * @example
 * const idle = dsqlPools().reduce((n, p) => n + (p.connections.idle ?? 0), 0);
 */
export function dsqlPools(): DsqlPoolSnapshot[] {
  const out: DsqlPoolSnapshot[] = [];
  const { live } = registry();
  for (const entry of live) {
    const owner = entry.ref.deref();
    if (owner === undefined) {
      live.delete(entry);
      continue;
    }
    out.push({ name: entry.name, endpoint: entry.endpoint, region: entry.region, connections: countsOf(entry, owner) });
  }
  return out;
}
