import { index, integer, pgSchema, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** The bank's tables, in their own schema (every example has one). Amounts in cents. */
export const bank = pgSchema('bank_drizzle');

export const accounts = bank.table('accounts', {
  id: uuid('id').primaryKey().defaultRandom(), // DSQL has no SERIAL: UUID keys are the norm
  owner: text('owner').notNull(),
  balance: integer('balance').notNull(),
});

export const transfers = bank.table(
  'transfers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    fromAccount: uuid('from_account').notNull(),
    toAccount: uuid('to_account').notNull(),
    amount: integer('amount').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  // drizzle-kit writes CREATE INDEX; migrate() runs it as CREATE INDEX ASYNC and waits for the job.
  (t) => [index('transfers_from_account').on(t.fromAccount)],
);
