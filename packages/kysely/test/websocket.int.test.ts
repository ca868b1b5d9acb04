/**
 * Kysely on dsql() with `transport: 'websocket'`: the options pass through, so DsqlDialect's
 * Postgres.js variant runs over @dsql/local's WebSocket endpoint, OCC retries included.
 */
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { dsql } from '@dsql/postgres';
import { Kysely, sql } from 'kysely';
import { WebSocket } from 'ws';
import { DsqlDialect, transaction } from '../src/index.js';

let local: DsqlLocal;
beforeAll(async () => {
  local = await startDsqlLocal({ webSocket: true });
}, 60_000);
afterAll(async () => {
  await local?.stop();
});

interface Db {
  kysely_ws_items: { id: number; n: number };
}

it("DsqlDialect({ postgres: dsql({ transport: 'websocket' }) }): queries and a transaction retried after a conflict", async () => {
  const db = new Kysely<Db>({
    dialect: new DsqlDialect({
      postgres: dsql({
        ...local.connectionOptions(),
        transport: 'websocket',
        webSocketUrl: local.webSocketUrl!,
        webSocketConstructor: WebSocket as never,
        max: 2,
        onnotice: () => undefined,
      }),
    }),
  });
  const before = local.stats().webSocketConnections;
  try {
    await sql`create table if not exists kysely_ws_items (id int primary key, n int not null)`.execute(db);
    await db.deleteFrom('kysely_ws_items').execute();
    await db.insertInto('kysely_ws_items').values({ id: 1, n: 0 }).execute();
    local.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction (OC000)' } });
    let runs = 0;
    await transaction(db, async (trx) => {
      runs++;
      await trx.updateTable('kysely_ws_items').set({ n: sql`n + 1` }).where('id', '=', 1).execute();
    });
    expect(runs).toBe(2);
    expect(await db.selectFrom('kysely_ws_items').select('n').executeTakeFirst()).toEqual({ n: 1 });
    expect(local.stats().webSocketConnections).toBeGreaterThan(before);
  } finally {
    await db.destroy();
  }
}, 60_000);
