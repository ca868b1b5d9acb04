import type { Kysely } from 'kysely';
import { Migrator, type MigrationResultSet } from 'kysely/migration';
import { transaction } from '@dsql/kysely';
import type { Database } from './database.js';
import { migrations } from './migrations/index.js';
import { reconciliation, type Reconciliation } from 'example-bank-workload';

/** A transfer the bank declined: the source account lacks the funds. Not retried. */
export class InsufficientFundsError extends Error {
  override name = 'InsufficientFundsError';
}

/** Brings the schema up to date with Kysely's Migrator (safe to run on every start). */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'bank_kysely_migration',
    migrationLockTableName: 'bank_kysely_migration_lock',
  });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).map((r) => r.migrationName);
}

/** Opens `count` accounts holding `balance` each; returns their ids. */
export async function openAccounts(db: Kysely<Database>, count: number, balance: number): Promise<string[]> {
  const rows = await transaction(db, (trx) =>
    trx
      .insertInto('bank_kysely.accounts')
      .values(Array.from({ length: count }, (_, i) => ({ owner: `customer ${i + 1}`, balance })))
      .returning('id')
      .execute(),
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
export async function transfer(
  db: Kysely<Database>,
  from: string,
  to: string,
  amount: number,
  onRetry: () => void,
): Promise<void> {
  await transaction(
    db,
    async (trx) => {
      // Check and debit in one statement: no row changes when the funds are short.
      const debit = async (): Promise<void> => {
        const result = await trx
          .updateTable('bank_kysely.accounts')
          .set((eb) => ({ balance: eb('balance', '-', amount) }))
          .where('id', '=', from)
          .where('balance', '>=', amount)
          .executeTakeFirst();
        if (result.numUpdatedRows !== 1n) throw new InsufficientFundsError(`account ${from} lacks ${amount}`);
      };
      const credit = async (): Promise<void> => {
        await trx
          .updateTable('bank_kysely.accounts')
          .set((eb) => ({ balance: eb('balance', '+', amount) }))
          .where('id', '=', to)
          .execute();
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
      await trx.insertInto('bank_kysely.transfers').values({ from_account: from, to_account: to, amount }).execute();
    },
    { onRetry },
  );
}

/** Balances of the given accounts, and what the ledger says they should be. */
export async function reconcile(
  db: Kysely<Database>,
  ids: string[],
  initialBalance: number,
): Promise<Reconciliation> {
  const accounts = await db.selectFrom('bank_kysely.accounts').select(['id', 'balance']).where('id', 'in', ids).execute();
  const ledger = await db
    .selectFrom('bank_kysely.transfers')
    .select(['from_account', 'to_account', 'amount'])
    .where('from_account', 'in', ids)
    .execute();
  return reconciliation(ids, initialBalance, accounts, ledger.map((t) => ({ from: t.from_account, to: t.to_account, amount: t.amount })));
}
