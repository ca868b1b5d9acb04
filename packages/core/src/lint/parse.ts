/**
 * SQL text → statements, with the real PostgreSQL parser (libpg-query, an optional peer
 * dependency that only `@dsql/core/lint` loads), and the few text positions the rewrites need.
 * Why the real parser rather than a splitter: semicolons inside strings, dollar quotes and
 * comments, and the parse tree the rules are judged on.
 */
import type * as LibPgQuery from 'libpg-query';
import { DsqlConfigError } from '../errors/errors.js';
import { quoteIdent } from '../migrations/session.js';

// The libpg-query JSON tree: read a handful of fields, everything else is opaque.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Node = any;

/**
 * One statement as parsed.
 *
 * @example
 * const [s] = parseStatements('CREATE INDEX ASYNC i ON t (a)');
 * s.node; // 'IndexStmt'
 * s.async; // true
 */
export interface ParsedStatement {
  /** Parse node name (`CreateStmt`, `IndexStmt`, …). */
  node: string;
  /** The node's fields. */
  stmt: Node;
  /** The statement text: no leading whitespace or comments, no trailing `;` (nor `ASYNC`, see `async`). */
  text: string;
  /** Character offset of `text` in the parsed SQL. */
  offset: number;
  /** The statement carried DSQL's `ASYNC` keyword (removed before parsing, put back by the rewrites). */
  async: boolean;
}

let parser: typeof LibPgQuery | undefined;
let loading: Promise<void> | undefined;

/**
 * Loads libpg-query's WASM parser once; {@link parseStatements} needs it loaded. Rejects with a
 * `DsqlConfigError` saying what to install when the optional peer dependency is missing.
 *
 * @example
 * await loadParser();
 * parseStatements('SELECT 1');
 */
export function loadParser(): Promise<void> {
  loading ??= import('libpg-query').then(
    async (module) => {
      await module.loadModule();
      parser = module;
    },
    (err: unknown) => {
      loading = undefined;
      throw new DsqlConfigError('libpg-query', 'not installed', 'the PostgreSQL parser @dsql/core/lint uses: npm install libpg-query@^17.7.4', { cause: err });
    },
  );
  return loading;
}

/** Leading whitespace and SQL comments (`-- …`, `/* … *\/`). */
const LEADING_NOISE = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

/**
 * `CREATE [UNIQUE] INDEX ASYNC` / `ALTER TABLE ASYNC` at the start of the text. `ASYNC` is DSQL
 * syntax the PostgreSQL parser cannot read (it takes `CREATE INDEX ASYNC ON t …` for an index
 * named "async"), so it is removed before parsing and remembered. Only the first statement is
 * looked at: a later `ASYNC` shows up as a syntax error whose fix says to give it its own chunk.
 */
const ASYNC_AT_START = /^(CREATE\s+(?:UNIQUE\s+)?INDEX|ALTER\s+TABLE)\s+ASYNC\b\s*/i;

/** Length of the leading whitespace and comments of `text`. */
export function leadingNoise(text: string): number {
  return LEADING_NOISE.exec(text)?.[0].length ?? 0;
}

/**
 * Splits SQL into statements with the PostgreSQL parser ({@link loadParser} first). Throws the
 * parser's error (with its message) for invalid SQL.
 *
 * @example
 * await loadParser();
 * parseStatements('CREATE TABLE a (id uuid PRIMARY KEY); CREATE INDEX i ON a (id)').map((s) => s.node);
 * // → ['CreateStmt', 'IndexStmt']
 */
export function parseStatements(sql: string): ParsedStatement[] {
  if (!parser) throw new Error('The PostgreSQL parser is not loaded: call `await loadParser()` from @dsql/core/lint first.');
  const noise = leadingNoise(sql);
  let source = sql;
  let asyncFirst = false;
  /** Characters removed with `ASYNC`: offsets after the first statement are shifted back by it. */
  let removed = 0;
  const m = ASYNC_AT_START.exec(sql.slice(noise));
  if (m) {
    source = `${sql.slice(0, noise)}${m[1]} ${sql.slice(noise + m[0].length)}`;
    asyncFirst = true;
    removed = sql.length - source.length;
  }
  // A sentinel statement gives the last real statement an explicit length (libpg-query reports
  // length 0, "to the end", for the last one), so trailing comments are not part of it.
  const sentinel = '\n;SELECT 1';
  const bytes = Buffer.from(source + sentinel, 'utf8');
  const parsed = parser.parseSync(source + sentinel) as { stmts?: Array<{ stmt: Node; stmt_location?: number; stmt_len?: number }> };
  const stmts = (parsed.stmts ?? []).slice(0, -1);
  const out: ParsedStatement[] = [];
  for (const [i, { stmt, stmt_location: start = 0, stmt_len: len = 0 }] of stmts.entries()) {
    // Locations are byte offsets into the UTF-8 text.
    const raw = bytes.subarray(start, start + len).toString('utf8');
    const lead = leadingNoise(raw);
    const text = raw.slice(lead).replace(/[\s;]+$/, '');
    if (text === '') continue;
    const node = Object.keys(stmt)[0] ?? '';
    const offset = bytes.subarray(0, start).toString('utf8').length + lead + (i === 0 ? 0 : removed);
    out.push({ node, stmt: stmt[node] ?? {}, text, offset, async: i === 0 && asyncFirst });
  }
  return out;
}

/** `schema.table` of a `RangeVar`, quoted. */
export function relationName(relation: Node): string {
  const table = String(relation?.relname ?? '');
  return relation?.schemaname ? quoteIdent(String(relation.schemaname), table) : quoteIdent(table);
}

/** `CREATE [UNIQUE] INDEX [CONCURRENTLY]` at the start of an index statement's text. */
const INDEX_PREFIX = /^CREATE\s+(UNIQUE\s+)?INDEX(\s+CONCURRENTLY)?\s+/i;

/**
 * The index statement as DSQL takes it: `CREATE [UNIQUE] INDEX ASYNC …` (`CONCURRENTLY`, which
 * DSQL does not have, removed). The parser has already said the text is an index statement, so
 * its first words are these keywords.
 */
export function asyncIndex(text: string): string {
  return text.replace(INDEX_PREFIX, (_all, unique: string | undefined) => `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ASYNC `);
}
