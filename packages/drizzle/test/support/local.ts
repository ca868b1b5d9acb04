import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { drizzle as drizzlePg } from '@dsql/drizzle';
import { drizzle as drizzlePostgresJs } from '@dsql/drizzle/postgres-js';
import type { MigratableDatabase } from '@dsql/drizzle/migrator';

export { startDsqlLocal, type DsqlLocal };

/** A plain-SQL runner for assertions and clean-up, outside the code under test. */
export async function adminQuery(local: DsqlLocal, text: string): Promise<Record<string, unknown>[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: local.upstreamUrl });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/** Drops what the blog migrations and the tracking tables created (straight on the upstream PostgreSQL). */
export async function resetDatabase(local: DsqlLocal, schemas: string[] = ['drizzle']): Promise<void> {
  await adminQuery(
    local,
    `DROP TABLE IF EXISTS blog_comments, blog_posts, blog_users CASCADE; ${schemas.map((s) => `DROP SCHEMA IF EXISTS "${s}" CASCADE;`).join(' ')}`,
  );
}

/** A database of either driver, and how to close it. */
export interface DriverDb {
  db: MigratableDatabase;
  close(): Promise<void>;
}

export type DriverName = 'node-postgres' | 'postgres-js';

export function openDb(driver: DriverName, local: DsqlLocal, options: Record<string, unknown> = {}): DriverDb {
  if (driver === 'node-postgres') {
    const db = drizzlePg({ connection: { ...local.connectionOptions(), max: 4 }, ...options });
    return { db: db as unknown as MigratableDatabase, close: () => db.$client.end() };
  }
  const db = drizzlePostgresJs({ connection: { ...local.connectionOptions(), max: 4, onnotice: () => undefined }, ...options });
  return { db: db as unknown as MigratableDatabase, close: () => db.$client.end({ timeout: 5 }) };
}
