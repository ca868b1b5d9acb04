/**
 * Drizzle's Postgres.js variant with `transport: 'websocket'`: the connection options pass
 * through to dsql(), so queries and transactions run over @dsql/local's WebSocket endpoint.
 */
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { sql } from 'drizzle-orm';
import { integer, pgTable } from 'drizzle-orm/pg-core';
import { WebSocket } from 'ws';
import { drizzle } from '@dsql/drizzle/postgres-js';

let local: DsqlLocal;
beforeAll(async () => {
  local = await startDsqlLocal({ webSocket: true });
}, 60_000);
afterAll(async () => {
  await local?.stop();
});

const items = pgTable('drizzle_ws_items', { id: integer('id').primaryKey(), n: integer('n').notNull() });

it("drizzle({ connection: { transport: 'websocket' } }): queries and a transaction over WebSocket", async () => {
  const db = drizzle({
    connection: {
      ...local.connectionOptions(),
      transport: 'websocket',
      webSocketUrl: local.webSocketUrl!,
      webSocketConstructor: WebSocket as never,
      max: 2,
      onnotice: () => undefined,
    },
  });
  const before = local.stats().webSocketConnections;
  try {
    await db.execute(sql`create table if not exists drizzle_ws_items (id int primary key, n int not null)`);
    await db.delete(items);
    await db.transaction(async (tx) => {
      await tx.insert(items).values([
        { id: 1, n: 1 },
        { id: 2, n: 2 },
      ]);
    });
    expect(await db.select().from(items).orderBy(items.id)).toEqual([
      { id: 1, n: 1 },
      { id: 2, n: 2 },
    ]);
    expect(local.stats().webSocketConnections).toBeGreaterThan(before);
  } finally {
    await db.$client.end({ timeout: 5 });
  }
}, 60_000);
