import type { Sql } from 'postgres';
import { transaction } from '@dsql/postgres';
import { reconciliation, type Reconciliation } from 'example-bank-workload';

/** A transfer the bank declined: the source account lacks the funds. Not retried. */
export class InsufficientFundsError extends Error {
  override name = 'InsufficientFundsError';
}

/** Opens `count` accounts holding `balance` each; returns their ids. */
export async function openAccounts(sql: Sql, count: number, balance: number): Promise<string[]> {
  const owners = Array.from({ length: count }, (_, i) => ({ owner: `customer ${i + 1}`, balance }));
  const rows = await transaction(sql, (tx) => tx<{ id: string }[]>`
    INSERT INTO bank_postgresjs.accounts ${tx(owners)} RETURNING id
  `);
  return rows.map((r) => r.id);
}

/**
 * Moves `amount` from one account to another and records it in the ledger, in one transaction.
 *
 * `transaction()` retries the whole callback when DSQL reports an OCC conflict (40001 at
 * COMMIT: another transaction changed the same rows first), so the callback may run more than
 * once — it only touches the database. `onRetry` is called before each retry.
 */
export async function transfer(sql: Sql, from: string, to: string, amount: number, onRetry: () => void): Promise<void> {
  await transaction(
    sql,
    async (tx) => {
      // Check and debit in one statement: no row changes when the funds are short.
      const debit = async (): Promise<void> => {
        const result = await tx`
          UPDATE bank_postgresjs.accounts SET balance = balance - ${amount} WHERE id = ${from} AND balance >= ${amount}
        `;
        if (result.count !== 1) throw new InsufficientFundsError(`account ${from} lacks ${amount}`);
      };
      const credit = async (): Promise<void> => {
        await tx`UPDATE bank_postgresjs.accounts SET balance = balance + ${amount} WHERE id = ${to}`;
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
      await tx`INSERT INTO bank_postgresjs.transfers ${tx({ from_account: from, to_account: to, amount })}`;
    },
    { onRetry },
  );
}

/** Balances of the given accounts, and what the ledger says they should be. */
export async function reconcile(
  sql: Sql,
  ids: string[],
  initialBalance: number,
): Promise<Reconciliation> {
  const accounts = await sql<{ id: string; balance: string }[]>`
    SELECT id, balance FROM bank_postgresjs.accounts WHERE id IN ${sql(ids)}
  `;
  const ledger = await sql<{ from_account: string; to_account: string; amount: string }[]>`
    SELECT from_account, to_account, amount FROM bank_postgresjs.transfers WHERE from_account IN ${sql(ids)}
  `;
  return reconciliation(ids, initialBalance, accounts, ledger.map((t) => ({ from: t.from_account, to: t.to_account, amount: t.amount })));
}
