import type { Generated } from 'kysely';

/** Amounts in cents, `integer` columns (node-postgres reads `bigint` as strings). */
type Money = number;

export interface AccountTable {
  id: Generated<string>;
  owner: string;
  balance: Money;
}

export interface TransferTable {
  id: Generated<string>;
  from_account: string;
  to_account: string;
  amount: Money;
  created_at: Generated<Date>;
}

/** The bank's tables, in their own schema (every example has one). */
export interface Database {
  'bank_kysely.accounts': AccountTable;
  'bank_kysely.transfers': TransferTable;
}
