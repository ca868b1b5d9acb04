/**
 * The fixes of `@dsql/core/lint`'s refusals in Drizzle's words: what to change in a Drizzle
 * schema (core words its fixes in SQL). Rules not listed keep core's fix.
 */
import type { LintFixes } from '@dsql/core/lint';

const TXN_FIX = 'Remove it: migrate() runs every statement in its own transaction, as DSQL requires (one DDL per transaction).';

/**
 * Drizzle schema fixes, by `@dsql/core/lint` rule.
 *
 * @example
 * await lintSql(sql, { fixes: DRIZZLE_FIXES });
 */
export const DRIZZLE_FIXES: LintFixes = {
  'serial-type':
    "Use a UUID key — uuid('id').primaryKey().defaultRandom() — or an identity column DSQL accepts: " +
    "bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity({ cache: 1 }) (bigint, CACHE 1 or ≥ 65536).",
  'enum-type':
    "Replace pgEnum with a text column typed in TypeScript: text('status', { enum: ['a', 'b'] }) " +
    '(add a CHECK constraint in the CREATE TABLE if the database must enforce the values).',
  'identity-type': "Declare it as bigint('…', { mode: 'number' }).generatedAlwaysAsIdentity({ cache: 1 }), or use a UUID key.",
  'identity-cache': 'Pass the cache to Drizzle: .generatedAlwaysAsIdentity({ cache: 1 }) (or ≥ 65536 for high insert rates).',
  'add-column-constraint':
    'Add the column without .notNull()/.default()/.unique()/.references() (nullable, no default), backfill it in batches of at most 3,000 rows, ' +
    'then set the default in a later migration (ALTER COLUMN … SET DEFAULT, which DSQL supports) and enforce the rest in the application ' +
    '(or with CHECK … NOT VALID constraints).',
  'transaction-statement': TXN_FIX,
  'set-transaction': TXN_FIX,
  'do-block':
    'Write the statement inside the DO block as a plain statement (older drizzle-kit versions wrapped constraints and enums in DO … EXCEPTION blocks; regenerate with a current drizzle-kit).',
  'syntax-error':
    'Correct the SQL. DSQL syntax (CREATE INDEX ASYNC, ALTER TABLE ASYNC) is understood only at the start of a chunk: put such a statement after its own "--> statement-breakpoint".',
};
