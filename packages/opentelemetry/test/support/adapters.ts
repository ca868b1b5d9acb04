import postgres from 'postgres';
import { startDsqlLocal, type DsqlLocal, type DsqlLocalOptions } from '@dsql/local';
import { DsqlPool, type DsqlPoolConfig } from '@dsql/pg';
import { Kysely, sql as kyselySql } from 'kysely';
import { DsqlDialect, transaction as kyselyTransaction } from '@dsql/kysely';
import { sql as drizzleSql } from 'drizzle-orm';
import { drizzle, dsqlStats as drizzleStats, transaction as drizzleTransaction } from '@dsql/drizzle';
import { dsql, dsqlStats as postgresStats, transaction as postgresTransaction } from '@dsql/postgres';
import type { DsqlStats, RetryOptions } from '@dsql/core';

/** What the scenarios need of a connection pool, whichever adapter is under it. */
export interface Db {
  query(text: string): Promise<Array<Record<string, unknown>>>;
  /** A `transaction()` of the adapter, `q` running one statement inside it. */
  transaction(fn: (q: (text: string) => Promise<unknown>) => Promise<void>, retry?: RetryOptions | false): Promise<void>;
  end(): Promise<void>;
  /** The adapter's public stats (pool.stats(), dsqlStats(sql), dialect.stats(), dsqlStats(db)). */
  stats(): DsqlStats;
}

/** Pool options in the scenarios' terms, translated per adapter. */
export interface PoolOptions {
  max: number;
  /** Idle connections close after this long. */
  idleMs?: number;
  maxLifetimeSeconds?: number;
  credentials?: unknown;
}

export interface Adapter {
  name: string;
  open(local: DsqlLocal, options: PoolOptions): Db;
}

/** A `DsqlPool` with the scenario's options (Kysely and Drizzle run on it too). */
function dsqlPool(local: DsqlLocal, o: PoolOptions): DsqlPool {
  const config: DsqlPoolConfig = {
    ...local.connectionOptions(),
    max: o.max,
    ...(o.idleMs !== undefined ? { idleTimeoutMillis: o.idleMs } : {}),
    ...(o.maxLifetimeSeconds !== undefined ? { maxLifetimeSeconds: o.maxLifetimeSeconds } : {}),
    ...(o.credentials !== undefined ? { credentials: o.credentials as never } : {}),
  };
  const pool = new DsqlPool(config);
  pool.on('error', () => {}); // a server-closed idle connection is expected here
  return pool;
}

export const ADAPTERS: Adapter[] = [
  {
    name: '@dsql/pg',
    open(local, o) {
      const pool = dsqlPool(local, o);
      return {
        query: async (text) => (await pool.query(text)).rows,
        transaction: (fn, retry) => pool.transaction(async (tx) => fn((text) => tx.query(text)), retry),
        end: () => pool.end(),
        stats: () => pool.stats(),
      };
    },
  },
  {
    name: '@dsql/postgres',
    open(local, o) {
      const sql = dsql({
        ...local.connectionOptions(),
        max: o.max,
        ...(o.idleMs !== undefined ? { idle_timeout: o.idleMs / 1000 } : {}),
        ...(o.maxLifetimeSeconds !== undefined ? { maxLifetimeSeconds: o.maxLifetimeSeconds } : {}),
        ...(o.credentials !== undefined ? { credentials: o.credentials as never } : {}),
      });
      return {
        query: async (text) => [...(await sql.unsafe(text))] as Array<Record<string, unknown>>,
        transaction: async (fn, retry) => void (await postgresTransaction(sql, async (tx) => fn((text) => tx.unsafe(text)), retry)),
        end: () => sql.end({ timeout: 5 }),
        stats: () => postgresStats(sql)!,
      };
    },
  },
  {
    name: '@dsql/kysely',
    open(local, o) {
      const dialect = new DsqlDialect({ pool: dsqlPool(local, o) });
      const db = new Kysely<Record<string, never>>({ dialect });
      return {
        query: async (text) => (await kyselySql.raw<Record<string, unknown>>(text).execute(db)).rows,
        transaction: async (fn, retry) => void (await kyselyTransaction(db, async (trx) => fn((text) => kyselySql.raw(text).execute(trx)), retry)),
        end: () => db.destroy(),
        stats: () => dialect.stats()!,
      };
    },
  },
  {
    name: '@dsql/drizzle',
    open(local, o) {
      const pool = dsqlPool(local, o);
      const db = drizzle({ client: pool });
      // This package's drizzle-orm and @dsql/drizzle's are one version resolved under two peer
      // sets (optional @opentelemetry/api): the same runtime classes, distinct declarations.
      const raw = (text: string): never => drizzleSql.raw(text) as never;
      return {
        query: async (text) => (await db.execute<Record<string, unknown>>(raw(text))).rows,
        transaction: async (fn, retry) => void (await drizzleTransaction(db, async (tx) => fn((text) => tx.execute(raw(text))), retry)),
        end: () => pool.end(),
        stats: () => drizzleStats(db)!,
      };
    },
  },
];

/** Ends a backend from outside, as an administrator would (`pg_terminate_backend` on the upstream). */
export async function terminateBackend(local: DsqlLocal, pid: number): Promise<void> {
  const admin = postgres(local.upstreamUrl, { max: 1, onnotice: () => {} });
  try {
    await admin`SELECT pg_terminate_backend(${pid})`;
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * Starts a local DSQL endpoint before the file's tests and stops it after them (jest's beforeAll /
 * afterAll), handing it to `use` once started.
 *
 * @example
 * let local: DsqlLocal;
 * withLocal((started) => (local = started));
 */
export function withLocal(use: (local: DsqlLocal) => void, options?: DsqlLocalOptions): void {
  let local: DsqlLocal | undefined;
  beforeAll(async () => {
    local = await startDsqlLocal(options);
    use(local);
  }, 60_000);
  afterAll(async () => {
    await local?.stop();
  });
}
