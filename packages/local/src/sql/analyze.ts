/**
 * `analyzeSql(text)`: parse once with the real PostgreSQL parser, classify every statement,
 * and work out what to send upstream. Results depend only on the text (and the rules'
 * options), so `createAnalyzer` caches them per text in a bounded LRU.
 */
import { loadModule, parseSync } from 'libpg-query';
import { LRUCache } from 'lru-cache';
import { stripAsyncKeyword } from './async-keyword.js';
import { classifyStatement, type StatementKind } from './classify.js';
import type { SqlError } from './hook.js';
import { alterTableCheckSql } from './alter-table-checks.js';
import { jobStatementSql } from './jobs.js';
import { dollarQuote } from './quote.js';

/** One statement of a SQL text, as the transaction rules see it. */
export interface AnalyzedStatement {
  /** Parse node name, e.g. `CreateStmt`, `SelectStmt`. */
  node: string;
  kind: StatementKind;
  refusal?: SqlError;
  /** The statement carried DSQL's `ASYNC` keyword. */
  async: boolean;
}

/** Everything the rules know about one SQL text. */
export interface SqlAnalysis {
  statements: readonly AnalyzedStatement[];
  /** The first refusal among the statements (DSQL refuses the whole text). */
  refusal?: SqlError;
  /** The text to send upstream when it differs from the client's. */
  upstreamSql?: string;
  /** CommandComplete tag overrides, one per statement (`undefined` keeps PostgreSQL's). */
  commandTags?: readonly (string | undefined)[];
  /** The text writes rows (INSERT / UPDATE / DELETE / COPY FROM, or a writing CTE). */
  writesRows: boolean;
  /** PostgreSQL's parser rejected the text (PostgreSQL will answer the syntax error itself). */
  syntaxError?: string;
}

/** Options of the analyzer. */
export interface AnalyzerOptions {
  /** `server_version` DSQL reports; default `16.15`. */
  serverVersion?: string;
  /** How many distinct SQL texts to keep analyses for; default 2,000. */
  cacheSize?: number;
}

/**
 * The server version a real cluster reported when the recordings were made.
 *
 * @example
 * createDsqlRules({ serverVersion: DSQL_SERVER_VERSION });
 */
export const DSQL_SERVER_VERSION = '16.15';

/**
 * `16.15` → `160015`, as PostgreSQL derives `server_version_num`.
 *
 * @example
 * serverVersionNum('16.15'); // '160015'
 */
export function serverVersionNum(version: string): string {
  const [major = '0', minor = '0'] = version.split('.');
  return String(Number(major) * 10000 + Number(minor));
}

let parserReady = false;

/**
 * Loads the WASM parser; `createDsqlRules().ready()` calls it, and analysis throws until it
 * has resolved.
 *
 * @example
 * await loadSqlParser();
 */
export async function loadSqlParser(): Promise<void> {
  if (parserReady) return;
  await loadModule();
  parserReady = true;
}

interface RawStatement {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  stmt: any;
  stmt_location?: number;
  stmt_len?: number;
}

/**
 * Analyzes one SQL text without caching; prefer `createAnalyzer()`'s cached function.
 *
 * @example
 * await loadSqlParser();
 * analyzeSql('TRUNCATE t').refusal; // { code: '0A000', message: 'unsupported statement: Truncate' }
 */
export function analyzeSql(sql: string, options: AnalyzerOptions = {}): SqlAnalysis {
  if (!parserReady) throw new Error('The SQL parser is not loaded: await loadSqlParser() (or rules.ready()) first.');
  const version = options.serverVersion ?? DSQL_SERVER_VERSION;
  const stripped = stripAsyncKeyword(sql);
  let raw: RawStatement[];
  try {
    raw = sql.trim() === '' ? [] : ((parseSync(stripped.sql).stmts ?? []) as RawStatement[]);
  } catch (error) {
    // PostgreSQL answers syntax errors itself, with its own position; send it the text as
    // PostgreSQL can read it.
    const analysis: SqlAnalysis = { statements: [], writesRows: false, syntaxError: (error as Error).message };
    return stripped.asyncAt.length ? { ...analysis, upstreamSql: stripped.sql } : analysis;
  }

  // The parser's statement locations are UTF-8 byte offsets.
  const bytes =
    Buffer.byteLength(stripped.sql, 'utf8') !== stripped.sql.length ? Buffer.from(stripped.sql, 'utf8') : undefined;
  const slice = (start: number, end: number) =>
    bytes ? bytes.subarray(start, end).toString('utf8') : stripped.sql.slice(start, end);
  const asyncAt = bytes
    ? stripped.asyncAt.map((at) => Buffer.byteLength(stripped.sql.slice(0, at), 'utf8'))
    : stripped.asyncAt;
  const length = bytes ? bytes.length : stripped.sql.length;

  const statements: AnalyzedStatement[] = [];
  const pieces: string[] = [];
  const tags: (string | undefined)[] = [];
  let rewritten = stripped.asyncAt.length > 0;
  let refusal: SqlError | undefined;
  let writesRows = false;
  for (const { stmt, stmt_location: start = 0, stmt_len: len = 0 } of raw) {
    const end = len === 0 ? length : start + len;
    const isAsync = asyncAt.some((at) => at >= start && at <= end);
    const node = Object.keys(stmt)[0] ?? '';
    const cls = classifyStatement(stmt, isAsync);
    statements.push({ node, kind: cls.kind, async: isAsync, ...(cls.refusal ? { refusal: cls.refusal } : {}) });
    refusal ??= cls.refusal;
    if (cls.kind === 'dml') writesRows = true;

    const text = slice(start, end);
    const replacement = upstreamStatement(node, stmt[node] ?? {}, text, isAsync, version);
    if (replacement) rewritten = true;
    pieces.push(replacement?.sql ?? text);
    tags.push(replacement?.commandTag);
  }

  const analysis: SqlAnalysis = { statements, writesRows, ...(refusal ? { refusal } : {}) };
  if (!rewritten || refusal) return analysis;
  return {
    ...analysis,
    upstreamSql: raw.length === 1 && !tags[0] ? stripped.sql : pieces.join(';'),
    ...(tags.some(Boolean) ? { commandTags: tags } : {}),
  };
}

/** The replacement PostgreSQL runs for a statement DSQL answers differently, if any. */
function upstreamStatement(
  node: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  stmt: any,
  text: string,
  isAsync: boolean,
  version: string,
): { sql: string; commandTag: string } | undefined {
  if (isAsync && node === 'IndexStmt') {
    return { sql: jobStatementSql('INDEX_BUILD', dollarQuote(text.trim())), commandTag: 'CREATE INDEX' };
  }
  if (isAsync && node === 'AlterTableStmt') {
    return { sql: jobStatementSql('VALIDATE_CONSTRAINT', dollarQuote(text.trim())), commandTag: 'ALTER TABLE' };
  }
  if (node === 'AlterTableStmt') {
    const sql = alterTableCheckSql(stmt, text.trim());
    if (sql) return { sql, commandTag: 'ALTER TABLE' };
  }
  if (node === 'VariableShowStmt') {
    // server_version is fixed at PostgreSQL's build; DSQL reports its own.
    const name = String(stmt.name ?? '').toLowerCase();
    if (name === 'server_version') return { sql: `SELECT '${version}'::text AS server_version`, commandTag: 'SHOW' };
    if (name === 'server_version_num') {
      return { sql: `SELECT '${serverVersionNum(version)}'::text AS server_version_num`, commandTag: 'SHOW' };
    }
  }
  return undefined;
}

/**
 * A cached `analyzeSql`: one analysis per distinct text, least recently used evicted first.
 *
 * @example
 * const analyze = createAnalyzer({ cacheSize: 500 });
 * analyze('SELECT 1').statements[0]?.kind; // 'read'
 */
export function createAnalyzer(options: AnalyzerOptions = {}): (sql: string) => SqlAnalysis {
  const cache = new LRUCache<string, SqlAnalysis>({ max: options.cacheSize ?? 2000 });
  return (sql) => {
    let analysis = cache.get(sql);
    if (!analysis) {
      analysis = analyzeSql(sql, options);
      cache.set(sql, analysis);
    }
    return analysis;
  };
}
