/**
 * `@dsql/core/lint`: SQL checked against DSQL's rules without a database — statements parsed with
 * the real PostgreSQL parser (`libpg-query`, an optional peer dependency: install it to use this
 * entry point; nothing else of core loads it) and judged with the rules catalogue
 * (`@dsql/core/rules`). Each statement gets a verdict: the steps to run for it on DSQL (rewritten
 * where DSQL needs another form, such as `CREATE INDEX ASYNC`), or a refusal with a rule id, a
 * message and a fix. Used by `@dsql/drizzle`'s migration check and `migrate()`.
 *
 * @example
 * import { lintSql } from '@dsql/core/lint';
 *
 * const findings = (await lintSql(sqlText)).filter((s) => !s.verdict.ok);
 */
export { lintSql, positions, type LintedStatement, type LintOptions } from './lint/lint-sql.js';
export { judgeStatement } from './lint/judge.js';
export { loadParser, parseStatements, type ParsedStatement } from './lint/parse.js';
export type { LintFixes, LintRefusal, LintRule, LintVerdict } from './lint/verdict.js';
