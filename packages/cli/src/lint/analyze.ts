/**
 * One SQL file linted for DSQL: every statement parsed and judged by `@dsql/core/lint`, plus the
 * transaction rule only the way a file is run decides (one DDL per transaction, never DDL with
 * DML: `SourceKind`), with the edits `--fix` makes for what is mechanical.
 *
 * Parsed here rather than through core's `lintSql` because the transaction rule needs each
 * statement's parse node, which `lintSql` does not return.
 */
import { judgeStatement, loadParser, parseStatements, positions, type LintVerdict, type ParsedStatement } from '@dsql/core/lint';
import type { MigrationStep } from '@dsql/core/migrations';
import { NOT_DDL_STATEMENTS } from '@dsql/core/rules';
import type { SourceKind } from './sources.js';

const BREAKPOINT = '--> statement-breakpoint';
/** DSQL's ASYNC forms parse only at the start of what is parsed: each starts a unit of its own. */
const ASYNC_FORM = /(CREATE\s+(?:UNIQUE\s+)?INDEX|ALTER\s+TABLE)\s+ASYNC\b/gi;

/**
 * A finding of `dsql lint`.
 *
 * @example
 * const f: Finding = { line: 3, column: 1, rule: 'serial-type', severity: 'error', message: '…', fix: '…', fixable: false };
 */
export interface Finding {
  line: number;
  column: number;
  /** Core's rule id (`serial-type`, …), or the CLI's own: `create-index-async`, `constraint-not-valid`, `multiple-ddl-in-transaction`, `ddl-and-dml-in-transaction`. */
  rule: string;
  /** `error`: DSQL refuses it and it needs a decision; `rewrite`: DSQL refuses it as written, and a mechanical rewrite exists. */
  severity: 'error' | 'rewrite';
  message: string;
  fix: string;
  /** `--fix` rewrites it. */
  fixable: boolean;
}

/** A text edit: replace `length` characters at `offset` with `text` (length 0: insert). */
interface Edit {
  offset: number;
  length: number;
  text: string;
}

type Kind = 'ddl' | 'dml' | 'read' | 'begin' | 'end' | 'other';

interface Statement {
  parsed: ParsedStatement;
  /** Offset in the whole file. */
  offset: number;
  /** drizzle-kit chunk index. */
  chunk: number;
  kind: Kind;
  verdict: LintVerdict;
}

/** A linted file: findings in order, the edits `--fix` would make, and the statement count. */
export interface FileLint {
  statements: number;
  /**
   * What to run, each step in its own transaction (core's verdict steps, rewrites made), for the
   * statements DSQL accepts; BEGIN / COMMIT of a psql script are left out (every step is a
   * transaction of its own).
   */
  steps: MigrationStep[];
  findings: Finding[];
  edits: Edit[];
}

function kindOf(s: ParsedStatement): Kind {
  switch (s.node) {
    case 'SelectStmt':
      return s.stmt.intoClause ? 'ddl' : 'read';
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return 'dml';
    case 'TransactionStmt': {
      const k = String(s.stmt.kind ?? '');
      if (k === 'TRANS_STMT_BEGIN' || k === 'TRANS_STMT_START') return 'begin';
      if (k === 'TRANS_STMT_COMMIT' || k === 'TRANS_STMT_ROLLBACK') return 'end';
      return 'other';
    }
    default:
      return NOT_DDL_STATEMENTS.has(s.node) ? 'other' : 'ddl';
  }
}

/** [start, end) ranges of `text` split at drizzle-kit breakpoints, then before each ASYNC form. */
function units(text: string): { start: number; end: number; chunk: number }[] {
  const out: { start: number; end: number; chunk: number }[] = [];
  let start = 0;
  let chunk = 0;
  for (const piece of text.split(BREAKPOINT)) {
    const end = start + piece.length;
    let from = start;
    for (const m of piece.matchAll(ASYNC_FORM)) {
      const at = start + m.index;
      if (text.slice(from, at).trim() !== '') {
        out.push({ start: from, end: at, chunk });
        from = at;
      }
    }
    out.push({ start: from, end, chunk });
    start = end + BREAKPOINT.length;
    chunk++;
  }
  return out;
}

/** The rule id of a statement DSQL needs rewritten. */
function rewriteRule(text: string, verdict: { rewrite?: string }): string {
  if (/^CREATE\s+(UNIQUE\s+)?INDEX/i.test(text)) return 'create-index-async';
  if (/UNIQUE/.test(verdict.rewrite ?? '')) return 'add-unique-constraint-async';
  if (/NOT VALID/.test(verdict.rewrite ?? '')) return 'constraint-not-valid';
  return 'validate-constraint-async';
}

/**
 * Lints one file's text as `kind` says it is run.
 *
 * @example
 * const { findings } = await lintFile('CREATE INDEX i ON t (a);', 'sql');
 * findings[0].rule; // 'create-index-async'
 */
export async function lintFile(text: string, kind: SourceKind): Promise<FileLint> {
  await loadParser();
  const at = positions(text);
  const findings: (Finding & { offset: number })[] = [];
  const edits: Edit[] = [];
  const statements: Statement[] = [];
  for (const unit of units(text)) {
    const source = text.slice(unit.start, unit.end);
    let parsed: ParsedStatement[];
    try {
      parsed = parseStatements(source);
    } catch (err) {
      const offset = unit.start + (source.length - source.trimStart().length);
      findings.push({
        offset,
        ...at(offset),
        rule: 'syntax-error',
        severity: 'error',
        message: `syntax error: ${(err as Error).message}`,
        fix: 'Correct the SQL (DSQL syntax such as CREATE INDEX ASYNC is understood).',
        fixable: false,
      });
      continue;
    }
    for (const p of parsed) {
      statements.push({ parsed: p, offset: unit.start + p.offset, chunk: unit.chunk, kind: kindOf(p), verdict: judgeStatement(p) });
    }
  }

  // Transaction units: BEGIN … COMMIT blocks of a psql script, a drizzle-kit chunk, a whole Prisma script.
  let block = -1;
  let blocks = 0;
  const unitOf = statements.map((s) => {
    if (kind === 'drizzle') return s.chunk;
    if (kind === 'prisma') return 0;
    if (s.kind === 'begin') block = ++blocks;
    const u = block;
    if (s.kind === 'end') block = -1;
    return u === -1 ? -1 - statements.indexOf(s) : u; // outside a block: a unit of its own
  });
  const inBlock = (i: number): boolean => kind === 'sql' && unitOf[i]! > 0;

  const steps: MigrationStep[] = [];
  for (const [i, s] of statements.entries()) {
    const { verdict, parsed } = s;
    const offset = s.offset;
    // BEGIN / COMMIT / ROLLBACK are how a psql script makes its transactions.
    if (kind === 'sql' && (s.kind === 'begin' || s.kind === 'end')) continue;
    if (verdict.ok) steps.push(...verdict.steps);
    if (!verdict.ok) {
      findings.push({ offset, ...at(offset), rule: verdict.rule, severity: 'error', message: verdict.message, fix: verdict.fix, fixable: false });
    } else if (verdict.rewrite) {
      const sep = kind === 'drizzle' ? `;\n${BREAKPOINT}\n` : inBlock(i) ? ';\nCOMMIT;\nBEGIN;\n' : ';\n';
      const replacement = verdict.steps.map((step) => step.sql).join(sep);
      findings.push({
        offset,
        ...at(offset),
        rule: rewriteRule(parsed.text, verdict),
        severity: 'rewrite',
        message: `DSQL refuses it as written. ${verdict.rewrite}`,
        fix: `Write it as: ${verdict.steps.map((step) => step.sql).join('; ')} (dsql lint --fix does; dsql migrate and the @dsql migrators do it as they apply).`,
        fixable: true,
      });
      edits.push({ offset, length: parsed.text.length, text: replacement });
    }
  }

  const groups = new Map<number, number[]>();
  unitOf.forEach((u, i) => {
    const k = statements[i]!.kind;
    if (k === 'ddl' || k === 'dml') groups.set(u, [...(groups.get(u) ?? []), i]);
  });
  for (const members of groups.values()) {
    const ddl = members.filter((i) => statements[i]!.kind === 'ddl');
    if (ddl.length === 0 || members.length < 2) continue;
    const second = statements[members[1]!]!;
    const mixed = ddl.length < members.length;
    const offset = second.offset;
    const where = kind === 'prisma' ? 'Prisma sends migration.sql as one script, which DSQL runs as one transaction' : kind === 'drizzle' ? 'a drizzle-kit chunk is sent as one query' : 'inside BEGIN … COMMIT';
    const fixable = kind !== 'prisma';
    findings.push({
      offset,
      ...at(offset),
      rule: mixed ? 'ddl-and-dml-in-transaction' : 'multiple-ddl-in-transaction',
      severity: 'error',
      message: mixed
        ? `DDL and DML in the same transaction (${where}): DSQL refuses it (ddl and dml are not supported in the same transaction).`
        : `${ddl.length} DDL statements in one transaction (${where}): DSQL runs one DDL statement per transaction (multiple ddl statements not supported in a transaction).`,
      fix:
        kind === 'prisma'
          ? 'Split the migration into one migration folder per DDL statement (DML in a migration of its own).'
          : kind === 'drizzle'
            ? 'Put a "--> statement-breakpoint" line between the statements (dsql lint --fix does).'
            : 'End the transaction after each DDL statement: COMMIT; BEGIN; between them (dsql lint --fix does).',
      fixable,
    });
    if (!fixable) continue;
    for (const i of members.slice(1)) {
      const s = statements[i]!;
      const lineStart = s.offset === 0 || text[s.offset - 1] === '\n';
      const insert = kind === 'drizzle' ? `${BREAKPOINT}\n` : 'COMMIT;\nBEGIN;\n';
      edits.push({ offset: s.offset, length: 0, text: lineStart ? insert : `\n${insert}` });
    }
  }

  findings.sort((a, b) => a.offset - b.offset);
  return { statements: statements.length, steps, findings: findings.map(({ offset: _offset, ...f }) => f), edits };
}

/**
 * `text` with `edits` made (each offset refers to the original text).
 *
 * @example
 * applyEdits('CREATE INDEX i ON t (a);', [{ offset: 0, length: 23, text: 'CREATE INDEX ASYNC i ON t (a)' }]);
 */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  // From the end, so earlier offsets stay valid; at one offset the replacement goes first, then
  // the insertion lands before it.
  const ordered = [...edits].sort((a, b) => b.offset - a.offset || b.length - a.length);
  let out = text;
  for (const e of ordered) out = out.slice(0, e.offset) + e.text + out.slice(e.offset + e.length);
  return out;
}
