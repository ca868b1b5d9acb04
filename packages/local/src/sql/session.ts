/**
 * One client connection's view of DSQL's transaction rules: at most one DDL statement per
 * transaction, never DDL and DML together (a multi-statement simple Query is one transaction;
 * GRANT / REVOKE are DDL), at most 3,000 modified rows per transaction — autocommit included.
 */
import type { SqlAnalysis } from './analyze.js';
import type { SqlContext, SqlDecision, SqlError, SqlSession, TxStatus } from './hook.js';
import { dsqlErrors } from './messages.js';

/**
 * DSQL's per-transaction cap on modified rows (3,000 succeed, 3,001 fail).
 *
 * @example
 * createDsqlRules({ rowLimit: DSQL_ROW_LIMIT });
 */
export const DSQL_ROW_LIMIT = 3000;

const FORWARD: SqlDecision = { kind: 'forward' };
// The parser's answer on writing rows, so the proxy needs no guess of its own.
const FORWARD_READS: SqlDecision = { kind: 'forward', writesRows: false };
const FORWARD_WRITES: SqlDecision = { kind: 'forward', writesRows: true };

/** Tags whose count is a number of modified rows (COPY only after a COPY FROM). */
const ROW_COUNT_TAG = /^(?:INSERT \d+|UPDATE|DELETE|MERGE|COPY) (\d+)$/;

/**
 * Tracks one connection's transaction and applies DSQL's rules to each SQL text.
 *
 * @example
 * const session = new DsqlSqlSession(createAnalyzer());
 * session.onSql('BEGIN', { protocol: 'simple', txStatus: 'I' }); // { kind: 'forward' }
 */
export class DsqlSqlSession implements SqlSession {
  /** DDL and DML statements forwarded in the current (explicit or implicit) transaction. */
  private ddl = 0;
  private dml = 0;
  /** Rows modified in the current transaction. */
  private rows = 0;
  private lastWroteRows = false;

  constructor(
    private readonly analyze: (sql: string) => SqlAnalysis,
    private readonly rowLimit = DSQL_ROW_LIMIT,
  ) {}

  onSql(sql: string, ctx: SqlContext): SqlDecision {
    // In a failed transaction PostgreSQL answers 25P02 to everything but ROLLBACK / COMMIT,
    // and DSQL does the same, even for statements it would refuse.
    if (ctx.txStatus === 'E') return FORWARD;
    if (ctx.protocol === 'simple' && ctx.txStatus === 'I') this.reset();
    const analysis = this.analyze(sql);
    if (analysis.refusal) return { kind: 'refuse', error: analysis.refusal };
    // With executeChecked, the transaction rules wait for each Execute (see onExecute).
    if (!(ctx.protocol === 'extended' && ctx.executeChecked)) {
      const error = this.track(analysis, ctx.txStatus);
      if (error) return { kind: 'refuse', error };
      this.lastWroteRows = analysis.writesRows;
    }
    if (!analysis.upstreamSql && !analysis.commandTags) return analysis.writesRows ? FORWARD_WRITES : FORWARD_READS;
    const tags = analysis.commandTags;
    return {
      kind: 'forward',
      ...(analysis.upstreamSql ? { sql: analysis.upstreamSql } : {}),
      ...(tags && tags.length === 1 ? { commandTag: tags[0] } : tags ? { commandTags: tags } : {}),
      writesRows: analysis.writesRows,
    };
  }

  onExecute(sql: string, ctx: SqlContext): SqlError | undefined {
    if (ctx.txStatus === 'E' || !ctx.executeChecked) return undefined;
    const analysis = this.analyze(sql);
    const error = analysis.refusal ?? this.track(analysis, ctx.txStatus);
    if (!error) this.lastWroteRows = analysis.writesRows;
    return error;
  }

  onCommandComplete(tag: string): SqlError | undefined {
    const match = ROW_COUNT_TAG.exec(tag);
    if (!match || (tag.startsWith('COPY') && !this.lastWroteRows)) return undefined;
    this.rows += Number(match[1]);
    return this.rows > this.rowLimit ? dsqlErrors.rowLimit() : undefined;
  }

  onReadyForQuery(status: TxStatus): void {
    if (status === 'I') this.reset();
  }

  private reset(): void {
    this.ddl = 0;
    this.dml = 0;
    this.rows = 0;
  }

  /** Walks the statements through the transaction they run in; the first rule broken, if any. */
  private track(analysis: SqlAnalysis, status: TxStatus): SqlError | undefined {
    let { ddl, dml } = this;
    let inBlock = status === 'T';
    for (const statement of analysis.statements) {
      switch (statement.kind) {
        case 'begin':
          inBlock = true;
          break;
        case 'commit':
        case 'rollback':
          // Only ends something inside a block; outside, PostgreSQL just warns.
          if (inBlock) {
            ddl = 0;
            dml = 0;
          }
          inBlock = false;
          break;
        case 'ddl':
          if (ddl > 0) return dsqlErrors.multipleDdl();
          if (dml > 0) return dsqlErrors.ddlAndDml();
          ddl++;
          break;
        case 'dml':
          if (ddl > 0) return dsqlErrors.ddlAndDml();
          dml++;
          break;
        default:
          break;
      }
    }
    this.ddl = ddl;
    this.dml = dml;
    return undefined;
  }
}
