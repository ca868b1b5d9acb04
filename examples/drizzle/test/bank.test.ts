import { fileURLToPath } from 'node:url';
import { drizzle as plainDrizzle } from 'drizzle-orm/node-postgres';
import { migrate as plainMigrate } from 'drizzle-orm/node-postgres/migrator';
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { DsqlPool } from '@dsql/pg';
import { drizzle } from '@dsql/drizzle';
import { inArray, sql } from 'drizzle-orm';
import { accounts } from '../src/schema.js';
import { countTransfers } from '../src/bank.js';
import { main } from '../src/main.js';

let local: DsqlLocal;
beforeAll(async () => {
  local = await startDsqlLocal();
});
afterAll(async () => {
  await local?.stop();
});

it('migrates, moves money concurrently, retries OCC conflicts and keeps the books balanced', async () => {
  const lines: string[] = [];
  const report = await main({ connection: local.connectionOptions(), log: (l) => lines.push(l) });

  expect(lines[0]).toMatch(/^migrate\(\) applied 0000_bank: 4 statements/);
  expect(report.transfers + report.declined).toBe(80);
  expect(report.transfers).toBeGreaterThan(0);
  // 4 workers on 10 accounts always collide somewhere; every conflict was retried, none surfaced.
  expect(report.retries).toBeGreaterThan(0);
  expect(local.stats().occConflicts).toBeGreaterThanOrEqual(report.retries);

  // Check the database itself, on a fresh pool: money was neither created nor lost.
  const db = drizzle({ connection: local.connectionOptions() });
  try {
    const rows = await db.select().from(accounts).where(inArray(accounts.id, report.accountIds));
    const balances = new Map(rows.map((r) => [r.id, r.balance]));
    expect(report.accountIds.map((id) => balances.get(id))).toEqual(report.balances);
    expect([...balances.values()].reduce((a, b) => a + b, 0)).toBe(report.accountIds.length * report.initialBalance);
    expect([...balances.values()].every((b) => b >= 0)).toBe(true);
    expect(await countTransfers(db, report.accountIds)).toBe(report.transfers);
    // The index drizzle-kit declared exists (built by CREATE INDEX ASYNC).
    const indexes = await db.execute<{ indexname: string }>(
      sql`SELECT indexname FROM pg_indexes WHERE schemaname = 'bank_drizzle' AND tablename = 'transfers'`,
    );
    expect(indexes.rows.map((i) => i.indexname)).toContain('transfers_from_account');
  } finally {
    await db.$client.end();
  }

  // A second run finds the schema up to date.
  const again: string[] = [];
  await main({ connection: local.connectionOptions(), workers: 2, transfersPerWorker: 1, log: (l) => again.push(l) });
  expect(again[0]).toBe('migrate(): schema already up to date');
});

it("needs @dsql/drizzle's migrate(): Drizzle's own migrator is refused by DSQL", async () => {
  const pool = new DsqlPool(local.connectionOptions());
  try {
    const migrationsFolder = fileURLToPath(new URL('../drizzle', import.meta.url));
    // Its tracking table has a SERIAL key, which DSQL does not have.
    await expect(
      plainMigrate(plainDrizzle({ client: pool }), { migrationsFolder, migrationsTable: 'plain_drizzle_migrations' }),
    ).rejects.toMatchObject({ cause: expect.objectContaining({ code: '42704', message: 'type "serial" does not exist' }) });
  } finally {
    await pool.end();
  }
});
