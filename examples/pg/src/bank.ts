import type { DsqlPool } from '@dsql/pg';
import { reconciliation, type Reconciliation } from 'example-bank-workload';

/** A transfer the bank declined: the source account lacks the funds. Not retried. */
export class InsufficientFundsError extends Error {
  override name = 'InsufficientFundsError';
}

/** Opens `count` accounts holding `balance` each; returns their ids. */
export async function openAccounts(pool: DsqlPool, count: number, balance: number): Promise<string[]> {
  const ids: string[] = [];
  await pool.transaction(async (tx) => {
    ids.length = 0; // the callback may run again after an OCC conflict: start from scratch
    for (let i = 0; i < count; i++) {
      const { rows } = await tx.query<{ id: string }>(
        'INSERT INTO bank_pg.accounts (owner, balance) VALUES ($1, $2) RETURNING id',
        [`customer ${i + 1}`, balance],
      );
      ids.push(rows[0]!.id);
    }
  });
  return ids;
}

/**
 * Moves `amount` from one account to another and records it in the ledger, in one transaction.
 *
 * `pool.transaction()` retries the whole callback when DSQL reports an OCC conflict (40001 at
 * COMMIT: another transaction changed the same rows first), so the callback may run more than
 * once — it only touches the database. `onRetry` is called before each retry.
 */
export async function transfer(
  pool: DsqlPool,
  from: string,
  to: string,
  amount: number,
  onRetry: () => void,
): Promise<void> {
  await pool.transaction(
    async (tx) => {
      // Check and debit in one statement: no row changes when the funds are short.
      const debit = async (): Promise<void> => {
        const result = await tx.query(
          'UPDATE bank_pg.accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2',
          [from, amount],
        );
        if (result.rowCount !== 1) throw new InsufficientFundsError(`account ${from} lacks ${amount}`);
      };
      const credit = async (): Promise<void> => {
        await tx.query('UPDATE bank_pg.accounts SET balance = balance + $2 WHERE id = $1', [to, amount]);
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
      await tx.query('INSERT INTO bank_pg.transfers (from_account, to_account, amount) VALUES ($1, $2, $3)', [
        from,
        to,
        amount,
      ]);
    },
    { onRetry },
  );
}

/** Balances of the given accounts, and what the ledger says they should be. */
export async function reconcile(
  pool: DsqlPool,
  ids: string[],
  initialBalance: number,
): Promise<Reconciliation> {
  const { rows: accounts } = await pool.query<{ id: string; balance: string }>(
    'SELECT id, balance FROM bank_pg.accounts WHERE id = ANY($1::uuid[])',
    [ids],
  );
  const { rows: ledger } = await pool.query<{ from_account: string; to_account: string; amount: string }>(
    'SELECT from_account, to_account, amount FROM bank_pg.transfers WHERE from_account = ANY($1::uuid[])',
    [ids],
  );
  return reconciliation(ids, initialBalance, accounts, ledger.map((t) => ({ from: t.from_account, to: t.to_account, amount: t.amount })));
}
