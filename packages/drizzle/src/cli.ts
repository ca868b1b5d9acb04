#!/usr/bin/env node
/**
 * `dsql-drizzle check [folder]`: lints a drizzle-kit migrations folder for Aurora DSQL without a
 * database. Exit code 0 when nothing would be refused, 1 when something would, 2 on bad usage.
 */
import { resolve } from 'node:path';
import { checkMigrations, formatProblems } from './migrations/check.js';

const USAGE = `Usage: dsql-drizzle check [migrations-folder] [--json]

Lints a drizzle-kit migrations folder (default ./drizzle) for Aurora DSQL, offline:
statements DSQL would refuse are errors (with the file, the line and the fix);
statements migrate() rewrites for DSQL (CREATE INDEX ASYNC, …) are listed as such.`;

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  if (args[0] === '--help' || args[0] === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (args[0] !== 'check' || args.length > 2) {
    console.error(USAGE);
    return 2;
  }
  const folder = resolve(args[1] ?? 'drizzle');
  const report = await checkMigrations(folder);
  if (json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    if (report.problems.length) console.log(`${formatProblems(report.problems)}\n`);
    const errors = report.problems.filter((p) => p.severity === 'error').length;
    const rewrites = report.problems.length - errors;
    const statements = report.migrations.reduce((n, m) => n + m.statements, 0);
    console.log(
      `${report.migrations.length} migration(s), ${statements} statement(s): ${errors} error(s), ${rewrites} rewritten for DSQL by migrate().`,
    );
  }
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  },
);
