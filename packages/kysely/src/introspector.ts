import { PostgresIntrospector } from 'kysely';
import type { DatabaseIntrospector, DatabaseMetadata, DatabaseMetadataOptions, Kysely, SchemaMetadata, TableMetadata } from 'kysely';

/** Schemas of DSQL itself (`sys.jobs`, `sys.wait_for_job`, …), never the application's. */
const SYSTEM_SCHEMAS = new Set(['sys']);

/**
 * Kysely's PostgreSQL introspector (its catalog queries run as they are on DSQL), without DSQL's
 * own `sys` schema, so `getTables()` lists the application's tables and views only.
 *
 * @example
 * const tables = await db.introspection.getTables();
 * tables.map((t) => `${t.schema}.${t.name}`) // ['public.orders', 'public.users']
 */
export class DsqlIntrospector implements DatabaseIntrospector {
  readonly #postgres: PostgresIntrospector;

  constructor(db: Kysely<unknown>) {
    this.#postgres = new PostgresIntrospector(db);
  }

  async getSchemas(): Promise<SchemaMetadata[]> {
    return (await this.#postgres.getSchemas()).filter((s) => !SYSTEM_SCHEMAS.has(s.name));
  }

  async getTables(options?: DatabaseMetadataOptions): Promise<TableMetadata[]> {
    return (await this.#postgres.getTables(options)).filter((t) => t.schema === undefined || !SYSTEM_SCHEMAS.has(t.schema));
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}
