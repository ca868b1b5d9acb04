/**
 * The money-transfer workload through each adapter's own transaction API (with its OCC retry).
 * Each transfer is one transaction: debit, credit, and a row in `transfers` under a unique id,
 * so its outcome can be checked after the fact.
 */
import { DsqlPool } from '@dsql/pg';
import { dsql, transaction as postgresTransaction } from '@dsql/postgres';
import { DsqlDialect, transaction as kyselyTransaction } from '@dsql/kysely';
import { drizzle, transaction as drizzleTransaction } from '@dsql/drizzle';
import type { RetryOptions } from '@dsql/core';
import { CompiledQuery, Kysely } from 'kysely';

export interface Transfer {
  id: string;
  from: number;
  to: number;
  amount: number;
}

export interface Adapter {
  readonly name: string;
  transfer(t: Transfer): Promise<void>;
  end(): Promise<void>;
}

/** The adapters the workload runs through. */
export type AdapterName = 'pg' | 'postgres' | 'kysely' | 'drizzle';

export const DEBIT = 'UPDATE accounts SET balance = balance - $1 WHERE id = $2';
export const CREDIT = 'UPDATE accounts SET balance = balance + $1 WHERE id = $2';
export const RECORD = 'INSERT INTO transfers (id, from_id, to_id, amount) VALUES ($1, $2, $3, $4)';

/**
 * Creates an adapter's database handle on `options` (shared DSQL options) and wraps its
 * transaction API. `onBackgroundError` receives errors the application never awaited (a pool's
 * 'error' event), so they are scanned for secrets too.
 */
export function createAdapter(name: AdapterName, options: Record<string, unknown>, retry: RetryOptions, onBackgroundError: (err: unknown) => void): Adapter {
  switch (name) {
    case 'pg': {
      const pool = new DsqlPool({ ...options, max: 4, connectionTimeoutMillis: 10_000 });
      pool.on('error', onBackgroundError);
      return {
        name,
        transfer: ({ id, from, to, amount }) =>
          pool.transaction(async (tx) => {
            await tx.query(DEBIT, [amount, from]);
            await tx.query(CREDIT, [amount, to]);
            await tx.query(RECORD, [id, from, to, amount]);
          }, retry),
        end: () => pool.end(),
      };
    }
    case 'postgres': {
      const sql = dsql({ ...options, max: 4, connect_timeout: 10, onnotice: () => {} });
      return {
        name,
        transfer: ({ id, from, to, amount }) =>
          postgresTransaction(
            sql,
            async (tx) => {
              await tx`UPDATE accounts SET balance = balance - ${amount} WHERE id = ${from}`;
              await tx`UPDATE accounts SET balance = balance + ${amount} WHERE id = ${to}`;
              await tx`INSERT INTO transfers (id, from_id, to_id, amount) VALUES (${id}, ${from}, ${to}, ${amount})`;
            },
            retry,
          ).then(() => undefined),
        end: () => sql.end({ timeout: 5 }),
      };
    }
    case 'kysely': {
      // Kysely over Postgres.js (dsql()), so both drivers carry an ORM in the run.
      const db = new Kysely<Record<string, never>>({ dialect: new DsqlDialect({ postgres: dsql({ ...options, max: 4, connect_timeout: 10, onnotice: () => {} }) }) });
      return {
        name,
        transfer: ({ id, from, to, amount }) =>
          kyselyTransaction(
            db,
            async (trx) => {
              await trx.executeQuery(CompiledQuery.raw(DEBIT, [amount, from]));
              await trx.executeQuery(CompiledQuery.raw(CREDIT, [amount, to]));
              await trx.executeQuery(CompiledQuery.raw(RECORD, [id, from, to, amount]));
            },
            retry,
          ),
        end: () => db.destroy(),
      };
    }
    case 'drizzle': {
      // Drizzle over node-postgres (a DsqlPool).
      const pool = new DsqlPool({ ...options, max: 4, connectionTimeoutMillis: 10_000 });
      pool.on('error', onBackgroundError);
      const db = drizzle(pool);
      // Values are integers and generated ids ([a-z0-9-]): inlined, so no drizzle-orm import is
      // needed for its `sql` tag (the adapter's and this package's copies could differ).
      return {
        name,
        transfer: ({ id, from, to, amount }) =>
          drizzleTransaction(
            db,
            async (tx) => {
              await tx.execute(`UPDATE accounts SET balance = balance - ${amount} WHERE id = ${from}`);
              await tx.execute(`UPDATE accounts SET balance = balance + ${amount} WHERE id = ${to}`);
              await tx.execute(`INSERT INTO transfers (id, from_id, to_id, amount) VALUES ('${id}', ${from}, ${to}, ${amount})`);
            },
            retry,
          ),
        end: () => pool.end(),
      };
    }
  }
}
