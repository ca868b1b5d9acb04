/**
 * What the linter says of one statement: the statements to run for it (each in its own
 * transaction), or why DSQL refuses it — a rule id, a sentence, and a fix in plain SQL terms that
 * an adapter may replace by its schema language's (`LintFixes`).
 */
import type { MigrationStep } from '../migrations/apply.js';

/**
 * The id of each thing the linter refuses; `LintFixes` keys and `dsql lint`'s output use them.
 *
 * @example
 * const rule: LintRule = 'serial-type';
 */
export type LintRule =
  | 'syntax-error'
  | 'serial-type'
  | 'array-column'
  | 'unsupported-type'
  | 'identity-type'
  | 'identity-cache'
  | 'sequence-cache'
  | 'temporary-table'
  | 'unlogged-table'
  | 'create-table-clause'
  | 'index-method'
  | 'sequence-type'
  | 'add-column-constraint'
  | 'constraint-with-other-actions'
  | 'unnamed-constraint'
  | 'add-unique-constraint'
  | 'add-constraint'
  | 'set-not-null'
  | 'alter-column-type'
  | 'alter-table-form'
  | 'transaction-statement'
  | 'set-transaction'
  | 'enum-type'
  | 'user-defined-type'
  | 'drop-type'
  | 'do-block'
  | 'function-language'
  | 'vacuum'
  | 'unsupported-statement';

/**
 * Why a statement cannot run on DSQL as written, and what to do instead.
 *
 * @example
 * const r: LintRefusal = { rule: 'vacuum', message: 'DSQL does not support VACUUM.', fix: 'Remove it: DSQL needs no vacuuming.' };
 */
export interface LintRefusal {
  rule: LintRule;
  /** What DSQL would answer (or what is wrong), in a sentence. */
  message: string;
  /** How to change the SQL (or the schema it was generated from). */
  fix: string;
}

/**
 * The verdict on one statement: `ok` with the steps to run (`rewrite` says what was changed for
 * DSQL and why), or a refusal.
 *
 * @example
 * const v: LintVerdict = { ok: true, steps: [{ sql: 'CREATE INDEX ASYNC i ON t (a)', job: true }], rewrite: 'DSQL builds indexes asynchronously: …' };
 */
export type LintVerdict = { ok: true; steps: MigrationStep[]; rewrite?: string } | ({ ok: false } & LintRefusal);

/**
 * Fix wordings that replace the linter's plain-SQL fixes, by rule: how an ORM's users change
 * their schema (`pgEnum` → a text enum, …).
 *
 * @example
 * const fixes: LintFixes = { 'enum-type': "Replace pgEnum with text('status', { enum: ['a', 'b'] })." };
 */
export type LintFixes = Partial<Record<LintRule, string>>;

export const run = (sql: string, job = false): MigrationStep => ({ sql, job });
export const refuse = (rule: LintRule, message: string, fix: string): LintVerdict => ({ ok: false, rule, message, fix });
