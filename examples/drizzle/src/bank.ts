import { fileURLToPath } from 'node:url';
import { and, count, eq, gte, inArray, sql } from 'drizzle-orm';
import { transaction, type DsqlNodePgDatabase } from '@dsql/drizzle';
import { migrate } from '@dsql/drizzle/migrator';
import { accounts, transfers } from './schema.js';
import { reconciliation, type Reconciliation } from 'example-bank-workload';

type Db = DsqlNodePgDatabase;

/** The drizzle-kit output folder, next to `src/` and `dist/`. */
const migrationsFolder = fileURLToPath(new URL('../drizzle', import.meta.url));

/** A transfer the bank declined: the source account lacks the funds. Not retried. */
export class InsufficientFundsError extends Error {
  override name = 'InsufficientFundsError';
}

/**
 * Applies the drizzle-kit migrations in `./drizzle` (safe to run on every start). Drizzle's own
 * `migrate()` fails on DSQL; this one runs one statement per transaction, turns CREATE INDEX
 * into CREATE INDEX ASYNC (waiting for the job) and locks without advisory locks.
 */
export async function migrateToLatest(db: Db): Promise<{ applied: string[]; statements: number }> {
  return migrate(db, { migrationsFolder, migrationsTable: '__bank_drizzle_migrations' });
}

/** Opens `count` accounts holding `balance` each; returns their ids. */
export async function openAccounts(db: Db, count: number, balance: number): Promise<string[]> {
  const rows = await transaction(db, (tx) =>
    tx
      .insert(accounts)
      .values(Array.from({ length: count }, (_, i) => ({ owner: `customer ${i + 1}`, balance })))
      .returning({ id: accounts.id }),
  );
  return rows.map((r) => r.id);
}

/**
 * Moves `amount` from one account to another and records it in the ledger, in one transaction.
 *
 * `transaction()` retries the whole callback when DSQL reports an OCC conflict (40001 at
 * COMMIT: another transaction changed the same rows first), so the callback may run more than
 * once — it only touches the database. `onRetry` is called before each retry.
 */
export async function transfer(db: Db, from: string, to: string, amount: number, onRetry: () => void): Promise<void> {
  await transaction(
    db,
    async (tx) => {
      // Check and debit in one statement: no row changes when the funds are short.
      const debit = async (): Promise<void> => {
        const result = await tx
          .update(accounts)
          .set({ balance: sql`${accounts.balance} - ${amount}` })
          .where(and(eq(accounts.id, from), gte(accounts.balance, amount)));
        if (result.rowCount !== 1) throw new InsufficientFundsError(`account ${from} lacks ${amount}`);
      };
      const credit = async (): Promise<void> => {
        await tx
          .update(accounts)
          .set({ balance: sql`${accounts.balance} + ${amount}` })
          .where(eq(accounts.id, to));
      };
      // Touch the two rows in one fixed order (by id). DSQL never makes a transaction wait for
      // another (the later COMMIT simply fails), but on PostgreSQL, and so on @dsql/local, transfers
      // A→B and B→A running at once could wait on each other's row locks until both lose.
      if (from < to) {
        await debit();
        await credit();
      } else {
        await credit();
        await debit();
      }
      await tx.insert(transfers).values({ fromAccount: from, toAccount: to, amount });
    },
    { onRetry },
  );
}

/** Balances of the given accounts, and what the ledger says they should be. */
export async function reconcile(
  db: Db,
  ids: string[],
  initialBalance: number,
): Promise<Reconciliation> {
  const rows = await db.select({ id: accounts.id, balance: accounts.balance }).from(accounts).where(inArray(accounts.id, ids));
  const ledger = await db.select().from(transfers).where(inArray(transfers.fromAccount, ids));
  return reconciliation(ids, initialBalance, rows, ledger.map((t) => ({ from: t.fromAccount, to: t.toAccount, amount: t.amount })));
}

/** Committed transfers out of the given accounts (for tests and reports). */
export async function countTransfers(db: Db, ids: string[]): Promise<number> {
  const [row] = await db.select({ n: count() }).from(transfers).where(inArray(transfers.fromAccount, ids));
  return row?.n ?? 0;
}
