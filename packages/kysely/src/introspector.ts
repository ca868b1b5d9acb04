import { PostgresIntrospector } from 'kysely';
import type { DatabaseIntrospector, DatabaseMetadataOptions, Kysely, SchemaMetadata, TableMetadata } from 'kysely';

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

  /**
   * The tables, as Kysely 0.28's `getMetadata()` returns them (0.29 dropped the method and its
   * `DatabaseMetadata` type, so the type is spelled out here: the published `.d.ts` must compile
   * against both).
   */
  async getMetadata(options?: DatabaseMetadataOptions): Promise<{ tables: TableMetadata[] }> {
    return { tables: await this.getTables(options) };
  }
}
