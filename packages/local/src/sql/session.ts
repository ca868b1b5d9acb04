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
const FORWARD_OPENS: SqlDecision = { kind: 'forward', writesRows: false, transaction: 'opens' };
const FORWARD_CLOSES: SqlDecision = { kind: 'forward', writesRows: false, transaction: 'closes' };

/** Tags whose count is a number of modified rows (COPY only after a COPY FROM). */
const ROW_COUNT_TAG = /^(?:INSERT \d+|UPDATE|DELETE|MERGE|COPY) (\d+)$/;

/**
 * Tracks one connection's transaction and applies DSQL's rules to each SQL text.
 *
 * Statements are counted when they are sent (the proxy tells the status they will run in, also
 * when pipelined), modified rows when their CommandComplete comes back: the statement counts
 * restart at the start of each transaction as sent, the row count at each idle ReadyForQuery.
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
    if (ctx.txStatus === 'E') return this.inFailedBlock(sql, !(ctx.protocol === 'extended' && ctx.executeChecked));
    // Each simple Query outside a block is a transaction of its own.
    if (ctx.protocol === 'simple' && ctx.txStatus === 'I') this.resetStatements();
    const analysis = this.analyze(sql);
    if (analysis.refusal) return { kind: 'refuse', error: analysis.refusal };
    const transaction = transactionEffect(analysis);
    // With executeChecked, the transaction rules wait for each Execute (see onExecute).
    if (!(ctx.protocol === 'extended' && ctx.executeChecked)) {
      const error = this.track(analysis, ctx.txStatus);
      if (error) return { kind: 'refuse', error };
      this.lastWroteRows = analysis.writesRows;
    }
    if (!analysis.upstreamSql && !analysis.commandTags && !transaction) return analysis.writesRows ? FORWARD_WRITES : FORWARD_READS;
    const tags = analysis.commandTags;
    return {
      kind: 'forward',
      ...(analysis.upstreamSql ? { sql: analysis.upstreamSql } : {}),
      ...(tags && tags.length === 1 ? { commandTag: tags[0] } : tags ? { commandTags: tags } : {}),
      writesRows: analysis.writesRows,
      ...(transaction ? { transaction } : {}),
    };
  }

  onExecute(sql: string, ctx: SqlContext): SqlError | undefined {
    if (!ctx.executeChecked) return undefined;
    if (ctx.txStatus === 'E') {
      this.inFailedBlock(sql, true);
      return undefined;
    }
    // Outside a block, each Sync ends an implicit transaction: a batch's first Execute starts one.
    if (ctx.txStatus === 'I' && ctx.batchStart) this.resetStatements();
    const analysis = this.analyze(sql);
    const error = analysis.refusal ?? this.track(analysis, ctx.txStatus);
    if (!error) this.lastWroteRows = analysis.writesRows;
    return error;
  }

  onCommandComplete(tag: string, ctx?: SqlContext): SqlError | undefined {
    const match = ROW_COUNT_TAG.exec(tag);
    if (!match || (tag.startsWith('COPY') && !(ctx?.writesRows ?? this.lastWroteRows))) return undefined;
    this.rows += Number(match[1]);
    return this.rows > this.rowLimit ? dsqlErrors.rowLimit() : undefined;
  }

  onReadyForQuery(status: TxStatus, pipelined = false): void {
    if (status !== 'I') return;
    this.rows = 0;
    // Statements sent after this one were counted into their own transaction already.
    if (!pipelined) this.resetStatements();
  }

  /**
   * A failed block forwards everything (25P02 follows); its ROLLBACK / COMMIT ends it (`runs`:
   * the statement runs now, not only parsed for a later Execute).
   */
  private inFailedBlock(sql: string, runs: boolean): SqlDecision {
    const transaction = transactionEffect(this.analyze(sql));
    // A prepared BEGIN parsed here may run later, outside the block: say what it does.
    if (transaction === 'opens') return FORWARD_OPENS;
    if (transaction !== 'closes') return FORWARD;
    if (runs) this.resetStatements();
    return FORWARD_CLOSES;
  }

  private resetStatements(): void {
    this.ddl = 0;
    this.dml = 0;
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

/** How a text leaves the transaction: its last BEGIN / COMMIT / ROLLBACK decides. */
function transactionEffect(analysis: SqlAnalysis): 'opens' | 'closes' | undefined {
  for (let i = analysis.statements.length - 1; i >= 0; i--) {
    const kind = analysis.statements[i]!.kind;
    if (kind === 'begin') return 'opens';
    if (kind === 'commit' || kind === 'rollback') return 'closes';
  }
  return undefined;
}
