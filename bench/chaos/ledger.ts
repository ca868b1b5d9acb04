/**
 * The money-transfer ledger both chaos suites run their workload on, and the check made after a
 * run straight from PostgreSQL (not through any adapter): is every balance explained by the
 * transfers recorded, and does each recorded transfer match what the application was told?
 */
import type pg from 'pg';
import type { AdapterName, Transfer } from './adapters.js';

/** What the application was told about one transfer (`hung`: no answer within the run's bound). */
export interface TransferOutcome {
  transfer: Transfer;
  adapter: AdapterName;
  result: 'committed' | 'failed' | 'unknown' | 'hung';
  error?: string;
}

/** The ledger's size: accounts `1..accounts`, each starting with `startBalance`. */
export interface LedgerShape {
  accounts: number;
  startBalance: number;
}

/**
 * Creates `accounts` and `transfers` and fills `accounts`, over a direct connection to the
 * PostgreSQL behind the endpoint(s).
 *
 * @example
 * await createLedger(direct, { accounts: 36, startBalance: 1_000 });
 */
export async function createLedger(direct: pg.Client, { accounts, startBalance }: LedgerShape): Promise<void> {
  await direct.query('CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)');
  await direct.query('CREATE TABLE transfers (id text PRIMARY KEY, from_id int NOT NULL, to_id int NOT NULL, amount bigint NOT NULL)');
  await direct.query(`INSERT INTO accounts SELECT g, ${startBalance} FROM generate_series(1, ${accounts}) g`);
}

/** What {@link checkLedger} found; every list is empty after a correct run. */
export interface LedgerCheck<O extends TransferOutcome> {
  /** The transfers in the table, by id. */
  recorded: Map<string, { from_id: number; to_id: number; amount: string }>;
  /** The sum of every balance (must equal `accounts * startBalance`). */
  total: bigint;
  /** Accounts whose balance is not their start plus the transfers recorded for them (a half-applied transfer). */
  mismatched: string[];
  /** Transfers the application was told committed that are not in the table (a lost write). */
  committedMissing: string[];
  /** Transfers the application was told failed that are in the table anyway. */
  failedPresent: string[];
  /** Outcomes told as unknown (`CommitOutcomeUnknownError`), and how many of them had committed. */
  unknown: O[];
  unknownCommitted: number;
  /** Transfers of these adapters in the table that the application was never told about. */
  recordedButNeverTold: string[];
  /** Transfers that never settled. */
  hung: string[];
}

/**
 * Reads the ledger after a run and compares it with `outcomes` (those of `adapterNames`: a
 * transfer id starts with its adapter's name).
 *
 * @example
 * const { total, mismatched, committedMissing } = await checkLedger(direct, { accounts: 36, startBalance: 1_000 }, outcomes, ['pg']);
 */
export async function checkLedger<O extends TransferOutcome>(direct: pg.Client, { accounts, startBalance }: LedgerShape, outcomes: readonly O[], adapterNames: readonly AdapterName[]): Promise<LedgerCheck<O>> {
  const recorded: LedgerCheck<O>['recorded'] = new Map();
  for (const row of (await direct.query('SELECT id, from_id, to_id, amount FROM transfers')).rows) recorded.set(row.id, row);
  const balances = new Map<number, bigint>();
  for (const row of (await direct.query('SELECT id, balance FROM accounts')).rows) balances.set(row.id, BigInt(row.balance));
  const total = [...balances.values()].reduce((a, b) => a + b, 0n);
  const expected = new Map<number, bigint>(Array.from({ length: accounts }, (_, i) => [i + 1, BigInt(startBalance)]));
  for (const t of recorded.values()) {
    expected.set(t.from_id, expected.get(t.from_id)! - BigInt(t.amount));
    expected.set(t.to_id, expected.get(t.to_id)! + BigInt(t.amount));
  }
  const unknown = outcomes.filter((o) => o.result === 'unknown');
  const told = new Set(outcomes.map((o) => o.transfer.id));
  const mine = (id: string) => adapterNames.some((a) => id.startsWith(`${a}-`));
  return {
    recorded,
    total,
    mismatched: [...balances].filter(([id, b]) => expected.get(id) !== b).map(([id, b]) => `account ${id}: ${b}, transfers say ${expected.get(id)}`),
    committedMissing: outcomes.filter((o) => o.result === 'committed' && !recorded.has(o.transfer.id)).map((o) => o.transfer.id),
    failedPresent: outcomes.filter((o) => o.result === 'failed' && recorded.has(o.transfer.id)).map((o) => `${o.transfer.id} (${o.error})`),
    unknown,
    unknownCommitted: unknown.filter((o) => recorded.has(o.transfer.id)).length,
    recordedButNeverTold: [...recorded.keys()].filter((id) => mine(id) && !told.has(id)),
    hung: outcomes.filter((o) => o.result === 'hung').map((o) => o.transfer.id),
  };
}
