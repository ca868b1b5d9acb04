// Compiled (not run) by `pnpm lint` against the built package, as an ES module app would import
// it: the published `.d.ts` must compile without `skipLibCheck` on Kysely 0.28 and 0.29.
import { Kysely, sql } from 'kysely';
import { DsqlDialect, DsqlIntrospector, transaction, type DsqlDialectConfig } from '@dsql/kysely';

interface Database {
  accounts: { id: string; balance: number };
}

const config: DsqlDialectConfig = { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', max: 4 };
const db = new Kysely<Database>({ dialect: new DsqlDialect(config) });

export async function run(): Promise<number> {
  const tables = await new DsqlIntrospector(db as Kysely<unknown>).getTables();
  const rows = await transaction(db, (trx) => trx.selectFrom('accounts').select(['id', 'balance']).execute());
  await sql`select 1`.execute(db);
  await db.destroy();
  return rows.length + tables.length;
}
