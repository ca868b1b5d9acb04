/**
 * Splitting a migration chunk into statements with the real PostgreSQL parser (libpg-query),
 * and the few text positions the rewrites need.
 *
 * Why not `@dsql/local`'s analysis: it is internal to the emulator, and `@dsql/local` brings an
 * embedded PostgreSQL with it — far too heavy for an application's runtime dependency. The parser
 * is the same (`libpg-query`); the rules in `rules.ts` are the migration-time subset of DSQL's,
 * each with the fix a Drizzle user needs.
 */
import { loadModule, parseSync } from 'libpg-query';

// The libpg-query JSON tree: read a handful of fields, everything else is opaque.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Node = any;

/** One statement of a chunk, as parsed. */
export interface ParsedStatement {
  /** Parse node name (`CreateStmt`, `IndexStmt`, …). */
  node: string;
  /** The node's fields. */
  stmt: Node;
  /** The statement text: no leading whitespace or comments, no trailing `;`. */
  text: string;
  /** Character offset of `text` in the chunk. */
  offset: number;
  /** The statement carried DSQL's `ASYNC` keyword (removed from `text`). */
  async: boolean;
}

let loaded: Promise<void> | undefined;

/**
 * Loads libpg-query's WASM parser once.
 *
 * @example
 * await loadParser();
 */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

/** Leading whitespace and SQL comments (`-- …`, `/* … *\/`). */
const LEADING_NOISE = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

/**
 * `CREATE [UNIQUE] INDEX ASYNC` / `ALTER TABLE ASYNC` at the start of a chunk. `ASYNC` is DSQL
 * syntax the PostgreSQL parser cannot read (it takes `CREATE INDEX ASYNC ON t …` for an index
 * named "async"), so it is removed before parsing and remembered. Only the chunk's first
 * statement is looked at: drizzle-kit writes one statement per chunk, and a hand-written
 * `ASYNC` later in a multi-statement chunk shows up as a syntax error that says to split it.
 */
const ASYNC_AT_START = /^(CREATE\s+(?:UNIQUE\s+)?INDEX|ALTER\s+TABLE)\s+ASYNC\b\s*/i;

/** Length of the leading whitespace and comments of `text`. */
export function leadingNoise(text: string): number {
  return LEADING_NOISE.exec(text)?.[0].length ?? 0;
}

/**
 * Splits one chunk of a migration file into statements with the PostgreSQL parser. Throws the
 * parser's error (with its message) for invalid SQL.
 *
 * @example
 * await loadParser();
 * parseChunk('CREATE TABLE a (id uuid PRIMARY KEY); CREATE INDEX i ON a (id)').map((s) => s.node);
 * // → ['CreateStmt', 'IndexStmt']
 */
export function parseChunk(chunk: string): ParsedStatement[] {
  const noise = leadingNoise(chunk);
  let source = chunk;
  let asyncFirst = false;
  const m = ASYNC_AT_START.exec(chunk.slice(noise));
  if (m) {
    source = `${chunk.slice(0, noise)}${m[1]} ${chunk.slice(noise + m[0].length)}`;
    asyncFirst = true;
  }
  // A sentinel statement gives the last real statement an explicit length (libpg-query reports
  // length 0, "to the end", for the last one), so trailing comments are not part of it.
  const sentinel = '\n;SELECT 1';
  const bytes = Buffer.from(source + sentinel, 'utf8');
  const parsed = parseSync(source + sentinel) as { stmts?: Array<{ stmt: Node; stmt_location?: number; stmt_len?: number }> };
  const stmts = (parsed.stmts ?? []).slice(0, -1);
  const out: ParsedStatement[] = [];
  for (const [i, { stmt, stmt_location: start = 0, stmt_len: len = 0 }] of stmts.entries()) {
    // Locations are byte offsets into the UTF-8 text.
    const raw = bytes.subarray(start, start + len).toString('utf8');
    const lead = leadingNoise(raw);
    const text = raw.slice(lead).replace(/[\s;]+$/, '');
    if (text === '') continue;
    const node = Object.keys(stmt)[0] ?? '';
    const offset = bytes.subarray(0, start).toString('utf8').length + lead;
    out.push({ node, stmt: stmt[node] ?? {}, text, offset, async: i === 0 && asyncFirst });
  }
  return out;
}

/**
 * A PostgreSQL identifier, quoted.
 *
 * @example
 * quoteIdent('user"s'); // '"user""s"'
 */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table` of a `RangeVar`, quoted. */
export function relationName(relation: Node): string {
  const table = quoteIdent(String(relation?.relname ?? ''));
  return relation?.schemaname ? `${quoteIdent(String(relation.schemaname))}.${table}` : table;
}

/** `CREATE [UNIQUE] INDEX [CONCURRENTLY]` at the start of an index statement's text. */
const INDEX_PREFIX = /^CREATE\s+(UNIQUE\s+)?INDEX(\s+CONCURRENTLY)?\s+/i;

/**
 * The index statement as DSQL takes it: `CREATE [UNIQUE] INDEX ASYNC …` (`CONCURRENTLY`, which
 * DSQL does not have, removed). The parser has already said the text is an index statement, so
 * its first words are these keywords.
 *
 * @example
 * asyncIndex('CREATE INDEX "i" ON "t" USING btree ("a")'); // 'CREATE INDEX ASYNC "i" ON "t" USING btree ("a")'
 */
export function asyncIndex(text: string): string {
  return text.replace(INDEX_PREFIX, (_all, unique: string | undefined) => `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ASYNC `);
}
