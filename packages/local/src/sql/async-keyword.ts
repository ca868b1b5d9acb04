/**
 * `CREATE [UNIQUE] INDEX ASYNC …` and `ALTER TABLE ASYNC …` are DSQL syntax, not PostgreSQL's:
 * the real parser cannot read them. Before parsing, this module finds the `ASYNC` keyword in
 * the prefix of each statement and removes it, remembering where it was.
 *
 * Why a hand-written scan: libpg-query's WASM build exports the parser but not its scanner
 * (`scan`/`split` are not in the bundle), and the parser rejects or misreads `ASYNC` (it takes
 * `CREATE INDEX ASYNC ON t (x)` for an index *named* async). The scan below only has to find
 * statement boundaries and the first few words of each statement, so it recognises just what
 * can hide a `;` or a word: quoted strings (`'…'`, `E'…'`), quoted identifiers, dollar quotes
 * and comments. Everything else is left to the real parser after the keyword is gone.
 */

/** Where `ASYNC` was removed: offsets in the rewritten text, one per statement that had it. */
export interface AsyncStrip {
  sql: string;
  /** Offsets (in `sql`) where an `ASYNC` keyword was removed, in statement order. */
  asyncAt: number[];
}

const WORD = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y;
const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** Skips one quoted string, quoted identifier, dollar quote or comment at `i`; returns the end. */
function skipOpaque(sql: string, i: number): number {
  const c = sql[i];
  const next = sql[i + 1];
  if (c === '-' && next === '-') {
    const end = sql.indexOf('\n', i);
    return end < 0 ? sql.length : end + 1;
  }
  if (c === '/' && next === '*') {
    let depth = 1;
    let j = i + 2;
    while (j < sql.length && depth > 0) {
      if (sql[j] === '/' && sql[j + 1] === '*') {
        depth++;
        j += 2;
      } else if (sql[j] === '*' && sql[j + 1] === '/') {
        depth--;
        j += 2;
      } else j++;
    }
    return j;
  }
  if (c === "'" || c === '"') {
    // E'…' strings take backslash escapes; `date'…'` (a word ending in e) does not.
    const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '');
    let j = i + 1;
    while (j < sql.length) {
      if (escapes && sql[j] === '\\') j += 2;
      else if (sql[j] === c) {
        if (sql[j + 1] === c) j += 2;
        else return j + 1;
      } else j++;
    }
    return j;
  }
  if (c === '$') {
    DOLLAR_TAG.lastIndex = i;
    const m = DOLLAR_TAG.exec(sql);
    if (m) {
      const end = sql.indexOf(m[0], i + m[0].length);
      return end < 0 ? sql.length : end + m[0].length;
    }
  }
  return i;
}

/** The statement prefixes after which DSQL reads `ASYNC`. */
const ASYNC_AFTER: readonly (readonly string[])[] = [
  ['CREATE', 'INDEX'],
  ['CREATE', 'UNIQUE', 'INDEX'],
  ['ALTER', 'TABLE'],
];

/**
 * Removes DSQL's `ASYNC` keyword from every statement of `sql` that has it right after
 * `CREATE [UNIQUE] INDEX` or `ALTER TABLE`. Text without the word `async` is returned as is
 * without scanning.
 *
 * @example
 * stripAsyncKeyword('CREATE INDEX ASYNC i ON t (v)');
 * // → { sql: 'CREATE INDEX i ON t (v)', asyncAt: [13] }
 */
export function stripAsyncKeyword(sql: string): AsyncStrip {
  if (!/async/i.test(sql)) return { sql, asyncAt: [] };
  const cuts: Array<[start: number, end: number]> = [];
  let words: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === ';') {
      words = [];
      i++;
      continue;
    }
    const skipped = skipOpaque(sql, i);
    if (skipped !== i) {
      // A quoted identifier counts as a word (never as a keyword).
      if (c === '"' && words.length < 4) words.push('"');
      i = skipped;
      continue;
    }
    WORD.lastIndex = i;
    const m = words.length < 4 ? WORD.exec(sql) : null;
    if (m) {
      const word = m[0].toUpperCase();
      if (word === 'ASYNC' && ASYNC_AFTER.some((p) => p.length === words.length && p.every((w, k) => w === words[k]))) {
        let end = i + m[0].length;
        while (end < sql.length && /\s/.test(sql[end]!)) end++;
        cuts.push([i, end]);
      }
      words.push(word);
      i += m[0].length;
      continue;
    }
    if (!/\s/.test(c) && words.length < 4) words.push(c);
    i++;
  }
  if (cuts.length === 0) return { sql, asyncAt: [] };
  let out = '';
  let from = 0;
  const asyncAt: number[] = [];
  for (const [start, end] of cuts) {
    out += sql.slice(from, start);
    asyncAt.push(out.length);
    from = end;
  }
  out += sql.slice(from);
  return { sql: out, asyncAt };
}
