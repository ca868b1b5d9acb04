import { Kysely, sql } from 'kysely';
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { DsqlDialect } from '@dsql/kysely';
import type { Database } from '../src/database.js';
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

  expect(lines[0]).toMatch(/^Migrator applied 001_schema, 002_accounts, 003_transfers, 004_transfers_from_account /);
  expect(report.transfers + report.declined).toBe(80);
  expect(report.transfers).toBeGreaterThan(0);
  // 4 workers on 10 accounts always collide somewhere; every conflict was retried, none surfaced.
  expect(report.retries).toBeGreaterThan(0);
  expect(local.stats().occConflicts).toBeGreaterThanOrEqual(report.retries);

  // Check the database itself, on a fresh connection: money was neither created nor lost.
  const db = new Kysely<Database>({ dialect: new DsqlDialect(local.connectionOptions()) });
  try {
    const rows = await db.selectFrom('bank_kysely.accounts').select(['id', 'balance']).where('id', 'in', report.accountIds).execute();
    const balances = new Map(rows.map((r) => [r.id, Number(r.balance)]));
    expect(report.accountIds.map((id) => balances.get(id))).toEqual(report.balances);
    expect([...balances.values()].reduce((a, b) => a + b, 0)).toBe(report.accountIds.length * report.initialBalance);
    expect([...balances.values()].every((b) => b >= 0)).toBe(true);
    const { n } = await db
      .selectFrom('bank_kysely.transfers')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('from_account', 'in', report.accountIds)
      .executeTakeFirstOrThrow();
    expect(Number(n)).toBe(report.transfers);
    // The index the migration created ASYNC exists.
    const { rows: indexes } = await sql<{ indexname: string }>`
      SELECT indexname FROM pg_indexes WHERE schemaname = 'bank_kysely' AND tablename = 'transfers'
    `.execute(db);
    expect(indexes.map((i) => i.indexname)).toContain('transfers_from_account');
  } finally {
    await db.destroy();
  }

  // A second run finds the schema up to date.
  const again: string[] = [];
  await main({ connection: local.connectionOptions(), workers: 2, transfersPerWorker: 1, log: (l) => again.push(l) });
  expect(again[0]).toBe('Migrator: schema already up to date');
});
