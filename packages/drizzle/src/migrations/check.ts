/**
 * `checkMigrations()`: lints a drizzle-kit folder for Aurora DSQL without a database, and the
 * error `migrate()` throws when a pending migration has statements DSQL would refuse.
 */
import { DsqlUnsupportedError } from '@dsql/core';
import { planFolder, type MigrationProblem } from './plan.js';

/**
 * What `checkMigrations()` found.
 *
 * @example
 * const report: MigrationCheckReport = await checkMigrations('./drizzle');
 * if (!report.ok) console.error(formatProblems(report.problems));
 */
export interface MigrationCheckReport {
  /** True when no statement would be refused (rewrites are fine). */
  ok: boolean;
  /** Migrations read, in journal order. */
  migrations: { tag: string; file: string; statements: number }[];
  /** Errors and rewrites, in file order. */
  problems: MigrationProblem[];
}

/**
 * Lints a drizzle-kit migrations folder for Aurora DSQL, offline: every statement is parsed with
 * the PostgreSQL parser and checked against DSQL's rules. Errors are statements DSQL would refuse
 * (enums, SERIAL, array columns, ADD COLUMN with NOT NULL/DEFAULT, TRUNCATE, …), each with its file,
 * line and fix; rewrites are what `migrate()` changes by itself (`CREATE INDEX` → `CREATE INDEX
 * ASYNC`, foreign keys added `NOT VALID` then validated, …).
 *
 * @example
 * import { checkMigrations, formatProblems } from '@dsql/drizzle/migrator';
 *
 * const report = await checkMigrations('./drizzle');
 * if (!report.ok) throw new Error(formatProblems(report.problems));
 */
export async function checkMigrations(migrationsFolder: string): Promise<MigrationCheckReport> {
  const plan = await planFolder(migrationsFolder);
  return {
    ok: !plan.problems.some((p) => p.severity === 'error'),
    migrations: plan.migrations.map((m) => ({ tag: m.file.tag, file: m.file.file, statements: m.steps.length })),
    problems: plan.problems,
  };
}

/**
 * Problems as text, one block per problem: `file:line`, the statement, what is wrong and the fix.
 *
 * @example
 * console.error(formatProblems(report.problems.filter((p) => p.severity === 'error')));
 */
export function formatProblems(problems: readonly MigrationProblem[]): string {
  return problems
    .map((p) =>
      [
        `${p.file}:${p.line}  ${p.severity === 'error' ? 'error' : 'rewritten'}: ${p.message}`,
        `    ${p.statement.replace(/\n/g, '\n    ')}`,
        ...(p.fix ? [`    fix: ${p.fix}`] : []),
      ].join('\n'),
    )
    .join('\n\n');
}

/**
 * Thrown by `migrate()` before anything runs when pending migrations contain statements DSQL
 * would refuse; `problems` lists them (file, line, statement, message, fix).
 *
 * @example
 * try { await migrate(db, { migrationsFolder }); } catch (err) {
 *   if (err instanceof MigrationCheckError) for (const p of err.problems) console.error(p.file, p.line, p.fix);
 * }
 */
export class MigrationCheckError extends DsqlUnsupportedError {
  override name = 'MigrationCheckError';
  readonly problems: readonly MigrationProblem[];
  constructor(problems: readonly MigrationProblem[]) {
    super(
      'migration statements',
      `${problems.length} statement${problems.length === 1 ? '' : 's'} in pending migrations would be refused by Aurora DSQL; nothing was run.\n\n${formatProblems(problems)}`,
    );
    this.problems = problems;
  }
}
