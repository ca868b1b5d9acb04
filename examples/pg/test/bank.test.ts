import type { DsqlLocalConnectionOptions } from '@dsql/local';
import { DsqlPool } from '@dsql/pg';
import { main } from '../src/main.js';

// Started once for the run by test/dsql-local.setup.mjs (jest globalSetup).
const connection = JSON.parse(process.env.DSQL_LOCAL!) as DsqlLocalConnectionOptions;

it('moves money concurrently, retries OCC conflicts and keeps the books balanced', async () => {
  const lines: string[] = [];
  const report = await main({ connection, log: (l) => lines.push(l) });

  expect(report.transfers + report.declined).toBe(80);
  expect(report.transfers).toBeGreaterThan(0);
  // 4 workers on 10 accounts always collide somewhere; every conflict was retried, none surfaced.
  expect(report.retries).toBeGreaterThan(0);
  expect(report.mostAttempts).toBeGreaterThan(1);

  // Check the database itself, on a fresh pool: money was neither created nor lost.
  const pool = new DsqlPool(connection);
  try {
    const { rows } = await pool.query<{ id: string; balance: string }>(
      'SELECT id, balance FROM bank_pg.accounts WHERE id = ANY($1::uuid[])',
      [report.accountIds],
    );
    const balances = new Map(rows.map((r) => [r.id, Number(r.balance)]));
    expect(report.accountIds.map((id) => balances.get(id))).toEqual(report.balances);
    expect([...balances.values()].reduce((a, b) => a + b, 0)).toBe(report.accountIds.length * report.initialBalance);
    expect([...balances.values()].every((b) => b >= 0)).toBe(true);
    const { rows: ledger } = await pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM bank_pg.transfers WHERE from_account = ANY($1::uuid[])',
      [report.accountIds],
    );
    expect(Number(ledger[0]!.n)).toBe(report.transfers);
  } finally {
    await pool.end();
  }
  expect(lines.at(-1)).toMatch(/^reconciled: /);
});
