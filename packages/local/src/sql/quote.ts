/** Quoting for the SQL the rules write upstream. */

/**
 * A double-quoted identifier.
 *
 * @example
 * quoteIdent('My "T"'); // '"My ""T"""'
 */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * A standard string literal (the upstream runs with `standard_conforming_strings` on).
 *
 * @example
 * quoteLiteral("it's"); // "'it''s'"
 */
export const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * `text` dollar-quoted with a tag that does not occur in it, so any statement can be embedded.
 *
 * @example
 * dollarQuote('SELECT $dsql$x$dsql$'); // '$dsql0$SELECT $dsql$x$dsql$$dsql0$'
 */
export function dollarQuote(text: string): string {
  let tag = '$dsql$';
  for (let n = 0; text.includes(tag); n++) tag = `$dsql${n}$`;
  return `${tag}${text}${tag}`;
}
