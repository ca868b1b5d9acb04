/**
 * A whole SQL text linted: split into chunks at drizzle-kit's `--> statement-breakpoint` markers
 * (a comment to every other tool, so plain `.sql` files are one chunk), each chunk parsed and
 * every statement judged, with its line and column. A chunk that does not parse is one finding.
 */
import { judgeStatement } from './judge.js';
import { loadParser, parseStatements } from './parse.js';
import type { LintFixes, LintVerdict } from './verdict.js';

/** drizzle-kit's separator between the statements of a migration file. */
const BREAKPOINT = '--> statement-breakpoint';

const SYNTAX_FIX =
  'Correct the SQL. DSQL syntax (CREATE INDEX ASYNC, ALTER TABLE ASYNC) is understood only at the start of a chunk: ' +
  'put such a statement in a chunk of its own (after a "--> statement-breakpoint" line, or in a file of its own).';

/**
 * One statement of a linted text and its verdict.
 *
 * @example
 * const [first] = await lintSql('TRUNCATE t');
 * first.line; // 1
 * first.verdict.ok; // false
 */
export interface LintedStatement {
  /** 1-based line of the statement's first character. */
  line: number;
  /** 1-based column of the statement's first character. */
  column: number;
  /** Character offset of the statement in the text. */
  offset: number;
  /** The statement as written (no leading comments, no trailing `;`); the whole chunk for a syntax error. */
  text: string;
  verdict: LintVerdict;
}

/**
 * Options of {@link lintSql}.
 *
 * @example
 * const options: LintOptions = { fixes: { 'enum-type': 'Use a text column.' } };
 */
export interface LintOptions {
  /** Fix wordings that replace the plain-SQL ones, by rule (an ORM's schema syntax). */
  fixes?: LintFixes;
}

/**
 * 1-based line and column of every character offset in `text` (binary search over its line
 * starts): how findings are placed for editors and CI annotations.
 *
 * @example
 * const at = positions('select 1;\nselect 2;');
 * at(10) // { line: 2, column: 1 }
 */
export function positions(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  };
}

/**
 * Lints a SQL text for Aurora DSQL without a database: every statement parsed with the
 * PostgreSQL parser (loaded on first use) and judged against DSQL's rules, in order. Refusals
 * carry a rule id, a message and a fix; accepted statements carry the steps to run for them on
 * DSQL (see `judgeStatement`). drizzle-kit's `--> statement-breakpoint` markers separate chunks.
 *
 * @example
 * import { lintSql } from '@dsql/core/lint';
 *
 * for (const s of await lintSql('CREATE TABLE t (id serial PRIMARY KEY);\nCREATE INDEX i ON t (id);')) {
 *   if (!s.verdict.ok) console.error(`${s.line}:${s.column}  ${s.verdict.rule}  ${s.verdict.message}  fix: ${s.verdict.fix}`);
 * }
 * // 1:1  serial-type  column "id" is SERIAL: DSQL has no serial types …
 */
export async function lintSql(sql: string, options: LintOptions = {}): Promise<LintedStatement[]> {
  await loadParser();
  const at = positions(sql);
  const out: LintedStatement[] = [];
  let chunkOffset = 0;
  for (const chunk of sql.split(BREAKPOINT)) {
    let statements;
    try {
      statements = parseStatements(chunk);
    } catch (err) {
      const offset = chunkOffset + chunk.length - chunk.trimStart().length;
      const fix = options.fixes?.['syntax-error'] ?? SYNTAX_FIX;
      const verdict: LintVerdict = { ok: false, rule: 'syntax-error', message: `syntax error: ${(err as Error).message}`, fix };
      out.push({ ...at(offset), offset, text: chunk.trim(), verdict });
    }
    for (const statement of statements ?? []) {
      const offset = chunkOffset + statement.offset;
      out.push({ ...at(offset), offset, text: statement.text, verdict: judgeStatement(statement, options.fixes) });
    }
    chunkOffset += chunk.length + BREAKPOINT.length;
  }
  return out;
}
