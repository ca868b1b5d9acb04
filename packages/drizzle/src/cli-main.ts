/**
 * The `dsql-drizzle` command, as a function (the bin in `cli.ts` only calls it).
 */
import { resolve } from 'node:path';
import { checkMigrations, formatProblems } from './migrations/check.js';

const USAGE = `Usage: dsql-drizzle check [migrations-folder] [--json]

Lints a drizzle-kit migrations folder (default ./drizzle) for Aurora DSQL, offline:
statements DSQL would refuse are errors (with the file, the line and the fix);
statements migrate() rewrites for DSQL (CREATE INDEX ASYNC, …) are listed as such.
Exit code: 0 nothing refused, 1 something would be refused, 2 bad usage or unreadable folder.`;

/** Where the command writes. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

/**
 * Runs `dsql-drizzle` with `argv` (without `node` and the script) and resolves to its exit code.
 *
 * @example
 * const code = await runCli(['check', './drizzle'], { out: console.log, err: console.error });
 */
export async function runCli(argv: readonly string[], io: CliOutput, cwd = process.cwd()): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  if (args[0] === '--help' || args[0] === '-h') {
    io.out(USAGE);
    return 0;
  }
  if (args[0] !== 'check' || args.length > 2) {
    io.err(USAGE);
    return 2;
  }
  let report;
  try {
    report = await checkMigrations(resolve(cwd, args[1] ?? 'drizzle'));
  } catch (err) {
    io.err(err instanceof Error ? err.message : String(err));
    return 2;
  }
  if (json) {
    io.out(JSON.stringify(report, null, 2));
  } else {
    if (report.problems.length) io.out(`${formatProblems(report.problems)}\n`);
    const errors = report.problems.filter((p) => p.severity === 'error').length;
    const rewrites = report.problems.length - errors;
    const statements = report.migrations.reduce((n, m) => n + m.statements, 0);
    io.out(`${report.migrations.length} migration(s), ${statements} statement(s): ${errors} error(s), ${rewrites} rewritten for DSQL by migrate().`);
  }
  return report.ok ? 0 : 1;
}
