/**
 * DSQL's SQL rules for `@dsql/local`: what a real Aurora DSQL cluster refuses, with its exact
 * SQLSTATE and message, and what it answers differently (async index jobs, its version).
 * Statements are classified with the real PostgreSQL parser (libpg-query), cached per text.
 */
import { createAnalyzer, DSQL_SERVER_VERSION, loadSqlParser, type AnalyzerOptions } from './analyze.js';
import { alterTableChecksBootstrapSql } from './alter-table-checks.js';
import { environmentBootstrapSql } from './environment.js';
import type { SqlRules } from './hook.js';
import { jobsBootstrapSql } from './jobs.js';
import { DSQL_ROW_LIMIT, DsqlSqlSession } from './session.js';

export type { SqlContext, SqlDecision, SqlError, SqlRules, SqlSession, TxStatus } from './hook.js';
export { passThroughRules } from './hook.js';
export {
  analyzeSql,
  createAnalyzer,
  loadSqlParser,
  DSQL_SERVER_VERSION,
  type AnalyzedStatement,
  type AnalyzerOptions,
  type SqlAnalysis,
} from './analyze.js';
export { classifyStatement, type StatementKind } from './classify.js';
export { stripAsyncKeyword } from './async-keyword.js';
export { dsqlErrors } from './messages.js';
export { DsqlSqlSession, DSQL_ROW_LIMIT } from './session.js';

/** Options of `createDsqlRules`. */
export interface DsqlRulesOptions extends AnalyzerOptions {
  /** Modified rows allowed per transaction; default 3,000 as on DSQL. */
  rowLimit?: number;
  /**
   * How long an async job (`CREATE INDEX ASYNC`) stays `processing`, in milliseconds: its index
   * cannot be adopted as a constraint before, and `sys.wait_for_job` waits for it. Default 250.
   */
  asyncJobMs?: number;
}

const DEFAULT_ASYNC_JOB_MS = 250;

/**
 * DSQL's SQL rules as the proxy consumes them. Await `ready()` (loads the WASM parser) and run
 * `bootstrapSql` on the upstream once before the first session.
 *
 * Refusals match a real cluster's SQLSTATE and message; a refusal inside a transaction block
 * leaves it aborted (the proxy's part). `CREATE INDEX ASYNC` runs the build at once and
 * answers a `job_id` row, recorded in `sys.jobs`; `CALL sys.wait_for_job(id)` returns at once.
 *
 * @example
 * const rules = createDsqlRules();
 * await rules.ready();
 * const session = rules.newSession();
 * session.onSql('TRUNCATE t', { protocol: 'simple', txStatus: 'I' });
 * // → { kind: 'refuse', error: { code: '0A000', message: 'unsupported statement: Truncate' } }
 */
export function createDsqlRules(options: DsqlRulesOptions = {}): SqlRules & { ready(): Promise<void> } {
  const analyze = createAnalyzer(options);
  const serverVersion = options.serverVersion ?? DSQL_SERVER_VERSION;
  return {
    serverVersion,
    bootstrapSql: [
      ...environmentBootstrapSql(serverVersion),
      ...jobsBootstrapSql(options.asyncJobMs ?? DEFAULT_ASYNC_JOB_MS),
      ...alterTableChecksBootstrapSql,
    ],
    ready: loadSqlParser,
    newSession: () => new DsqlSqlSession(analyze, options.rowLimit ?? DSQL_ROW_LIMIT),
  };
}
