import postgres from 'postgres';
import type { DsqlLocal } from '@dsql/local';
import { DsqlPool } from '@dsql/pg';
import { dsql, transaction as postgresTransaction } from '@dsql/postgres';
import type { RetryOptions } from '@dsql/core';

/** What the scenarios need of a connection pool, whichever adapter is under it. */
export interface Db {
  query(text: string): Promise<Array<Record<string, unknown>>>;
  /** A `transaction()` of the adapter, `q` running one statement inside it. */
  transaction(fn: (q: (text: string) => Promise<unknown>) => Promise<void>, retry?: RetryOptions | false): Promise<void>;
  end(): Promise<void>;
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

export const ADAPTERS: Adapter[] = [
  {
    name: '@dsql/pg',
    open(local, o) {
      const pool = new DsqlPool({
        ...local.connectionOptions(),
        max: o.max,
        ...(o.idleMs !== undefined ? { idleTimeoutMillis: o.idleMs } : {}),
        ...(o.maxLifetimeSeconds !== undefined ? { maxLifetimeSeconds: o.maxLifetimeSeconds } : {}),
        ...(o.credentials !== undefined ? { credentials: o.credentials as never } : {}),
      });
      pool.on('error', () => {}); // a server-closed idle connection is expected here
      return {
        query: async (text) => (await pool.query(text)).rows,
        transaction: (fn, retry) => pool.transaction(async (tx) => fn((text) => tx.query(text)), retry),
        end: () => pool.end(),
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
