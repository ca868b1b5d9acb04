/** `dsql lint <files|folders…>`: SQL migrations checked against DSQL's rules, offline. */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { applyEdits, lintFile, type Finding } from '../lint/analyze.js';
import { collectSources, type SqlSource } from '../lint/sources.js';
import { UsageError, type CliIo } from '../io.js';

export const LINT_HELP = `Usage: dsql lint [--format text|json] [--fix] [--errors-only] <files|folders…>

Checks SQL migrations against Aurora DSQL's rules without a database, with the PostgreSQL
parser and @dsql/core's rules catalogue. Reads plain .sql files (run by psql: BEGIN … COMMIT
blocks are transactions), drizzle-kit folders (meta/_journal.json; each statement-breakpoint
chunk is one query) and Prisma migration folders (<name>/migration.sql, one script: one
transaction on DSQL). Folders are searched recursively for .sql files.

One line per finding, file:line:col  rule-id  message, then the fix. Findings are errors
(DSQL refuses the statement: serial types, enums, TRUNCATE, several DDL in one transaction, …)
or rewrites (DSQL refuses the statement as written but a mechanical form exists:
CREATE INDEX → CREATE INDEX ASYNC, constraints added NOT VALID then validated ASYNC).

Options:
  --format <text|json>   output format (default text)
  --fix                  rewrite the files where the fix is mechanical (rewrites; DDL split into
                         transactions of their own in psql scripts and drizzle-kit chunks) and
                         list what it cannot fix
  --errors-only          rewrites are not findings (dsql migrate and the @dsql migrators make them)
  -h, --help             show this help

Exit code: 0 no findings, 1 findings (after --fix: findings left), 2 bad usage or unreadable input.

Examples:
  dsql lint drizzle
  dsql lint prisma/migrations --format json
  dsql lint --fix migrations/0003_indexes.sql`;

interface FileReport {
  file: string;
  kind: SqlSource['kind'];
  statements: number;
  findings: Finding[];
  /** With --fix: findings the rewrite took care of. */
  fixed?: Finding[];
}

export async function lintCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      format: { type: 'string', default: 'text' },
      fix: { type: 'boolean', default: false },
      'errors-only': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.out(LINT_HELP);
    return 0;
  }
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`--format: got ${JSON.stringify(values.format)}; expected text or json`);
  if (positionals.length === 0) throw new UsageError('expected at least one file or folder to lint');
  const counts = (f: Finding): boolean => !values['errors-only'] || f.severity === 'error';

  const reports: FileReport[] = [];
  for (const source of collectSources(positionals, io.cwd)) {
    let text: string;
    try {
      text = readFileSync(source.path, 'utf8');
    } catch (err) {
      throw new UsageError(`${source.file}: cannot read (${(err as Error).message})`);
    }
    let result = await lintFile(text, source.kind);
    const report: FileReport = { file: source.file, kind: source.kind, statements: result.statements, findings: result.findings.filter(counts) };
    if (values.fix && result.edits.length > 0) {
      const fixed = applyEdits(text, result.edits);
      writeFileSync(source.path, fixed);
      const before = result.findings;
      result = await lintFile(fixed, source.kind);
      report.statements = result.statements;
      report.findings = result.findings.filter(counts);
      report.fixed = before.filter((f) => f.fixable).filter(counts);
    }
    reports.push(report);
  }

  const findings = reports.flatMap((r) => r.findings);
  if (values.format === 'json') {
    io.out(JSON.stringify({ ok: findings.length === 0, files: reports }, null, 2));
  } else {
    for (const r of reports) {
      for (const f of r.fixed ?? []) io.out(`${r.file}:${f.line}:${f.column}  ${f.rule}  fixed`);
      for (const f of r.findings) io.out(`${r.file}:${f.line}:${f.column}  ${f.rule}  ${f.message}\n  fix: ${f.fix}`);
    }
    const errors = findings.filter((f) => f.severity === 'error').length;
    const rewrites = findings.length - errors;
    const statements = reports.reduce((n, r) => n + r.statements, 0);
    const fixed = reports.reduce((n, r) => n + (r.fixed?.length ?? 0), 0);
    let summary = `${reports.length} file(s), ${statements} statement(s): ${errors} error(s), ${rewrites} rewrite(s) needed`;
    if (values.fix) summary += `; fixed ${fixed}; cannot fix ${findings.length} (${findings.length ? 'they need a decision: see each fix above' : 'nothing left'})`;
    io.out(summary);
  }
  return findings.length === 0 ? 0 : 1;
}
