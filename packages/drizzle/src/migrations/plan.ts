/**
 * A migrations folder → what `migrate()` will run (every statement, split, rewritten for DSQL)
 * and every problem DSQL would refuse, with the file, the line, the statement and the fix.
 */
import { readMigrationFolder, type MigrationFile } from './journal.js';
import { judge, type Step } from './rules.js';
import { loadParser, parseChunk } from './statements.js';

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

/** One migration as `migrate()` runs it. */
export interface PlannedMigration {
  file: MigrationFile;
  /** The statements to send, each in its own transaction, in order. */
  steps: Step[];
}

/** The plan of a folder. */
export interface MigrationPlan {
  migrations: PlannedMigration[];
  problems: MigrationProblem[];
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

const shorten = (text: string): string => (text.length > 300 ? `${text.slice(0, 297)}...` : text);

/**
 * Plans one migration file: splits every chunk with the parser and judges every statement.
 *
 * @example
 * await loadParser();
 * planMigration(file).steps.map((s) => s.sql);
 */
export function planMigration(file: MigrationFile): { steps: Step[]; problems: MigrationProblem[] } {
  const steps: Step[] = [];
  const problems: MigrationProblem[] = [];
  for (const chunk of file.chunks) {
    let statements;
    try {
      statements = parseChunk(chunk.text);
    } catch (err) {
      const lead = chunk.text.length - chunk.text.trimStart().length;
      problems.push({
        severity: 'error',
        file: file.file,
        line: lineAt(file.sql, chunk.offset + lead),
        statement: shorten(chunk.text.trim()),
        message: `syntax error: ${(err as Error).message}`,
        fix: 'Correct the SQL. DSQL syntax (CREATE INDEX ASYNC, ALTER TABLE ASYNC) is understood only at the start of a chunk: put such a statement after its own "--> statement-breakpoint".',
      });
      continue;
    }
    for (const statement of statements) {
      const verdict = judge(statement);
      const where = { file: file.file, line: lineAt(file.sql, chunk.offset + statement.offset), statement: shorten(statement.text) };
      if (!verdict.ok) {
        problems.push({ severity: 'error', ...where, message: verdict.message, fix: verdict.fix });
        continue;
      }
      if (verdict.rewrite) problems.push({ severity: 'rewrite', ...where, message: verdict.rewrite, fix: '' });
      steps.push(...verdict.steps);
    }
  }
  return { steps, problems };
}

/**
 * Reads and plans a whole drizzle-kit folder, without a database.
 *
 * @example
 * const { migrations, problems } = await planFolder('./drizzle');
 */
export async function planFolder(folder: string): Promise<MigrationPlan> {
  const files = readMigrationFolder(folder);
  await loadParser();
  const migrations: PlannedMigration[] = [];
  const problems: MigrationProblem[] = [];
  for (const file of files) {
    const planned = planMigration(file);
    migrations.push({ file, steps: planned.steps });
    problems.push(...planned.problems);
  }
  return { migrations, problems };
}
