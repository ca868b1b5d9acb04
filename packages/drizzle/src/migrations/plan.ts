/**
 * A migrations folder → what `migrate()` will run (every statement, split, rewritten for DSQL)
 * and every problem DSQL would refuse, with the file, the line, the statement and the fix. The
 * judging is `@dsql/core/lint`'s; this module words it for Drizzle.
 */
import type { MigrationStep } from '@dsql/core/migrations';
import { lintSql } from '@dsql/core/lint';
import { DRIZZLE_FIXES } from './fixes.js';
import { readMigrationFolder, type MigrationFile } from './journal.js';

/**
 * Something in a migration that DSQL refuses (`error`), or that `migrate()` rewrites for DSQL
 * (`rewrite`: nothing to do, shown by the check so the change is visible).
 *
 * @example
 * const p: MigrationProblem = { severity: 'error', file: '0000_init.sql', line: 3, statement: 'CREATE TYPE …', message: '…', fix: '…' };
 */
export interface MigrationProblem {
  severity: 'error' | 'rewrite';
  /** The migration file, relative to the folder. */
  file: string;
  /** 1-based line of the statement in the file. */
  line: number;
  /** The statement as written (shortened to 300 characters). */
  statement: string;
  /** What DSQL would answer, or what `migrate()` changes. */
  message: string;
  /** How to fix it (errors), or empty (rewrites). */
  fix: string;
}

/** One migration as `migrate()` runs it: the statements to send, each in its own transaction, in order. */
export interface PlannedMigration {
  file: MigrationFile;
  steps: MigrationStep[];
}

const shorten = (text: string): string => (text.length > 300 ? `${text.slice(0, 297)}...` : text);

/**
 * Reads and plans a whole drizzle-kit folder, without a database.
 *
 * @example
 * const { migrations, problems } = await planFolder('./drizzle');
 */
export async function planFolder(folder: string): Promise<{ migrations: PlannedMigration[]; problems: MigrationProblem[] }> {
  const migrations: PlannedMigration[] = [];
  const problems: MigrationProblem[] = [];
  for (const file of readMigrationFolder(folder)) {
    const steps: MigrationStep[] = [];
    for (const { line, text, verdict } of await lintSql(file.sql, { fixes: DRIZZLE_FIXES })) {
      const where = { file: file.file, line, statement: shorten(text) };
      if (!verdict.ok) problems.push({ severity: 'error', ...where, message: verdict.message, fix: verdict.fix });
      else {
        if (verdict.rewrite) problems.push({ severity: 'rewrite', ...where, message: verdict.rewrite, fix: '' });
        steps.push(...verdict.steps);
      }
    }
    migrations.push({ file, steps });
  }
  return { migrations, problems };
}
