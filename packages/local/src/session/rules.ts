/**
 * The SQL rules (../sql, or the user's `rules`) applied by the session: each SQL text is decided
 * (refused, rewritten, tagged) with the transaction state it runs in; each execution of a
 * prepared statement is checked; each CommandComplete is offered to the rules (row caps).
 */
import type { SqlContext, SqlError } from '../sql/hook.js';
import { commandComplete, commandTagOf, errorResponse } from '../wire/backend.js';
import { emit, hiddenStatement } from './framing.js';
import { failureOf } from './limits.js';
import { COMMIT_LOCK_TIMEOUT, noteCommitted, startCommitting } from './occ-commit.js';
import { K, NOTHING_MORE, shift, type Decided, type Pending, type PortalInfo, type StatementInfo } from './requests.js';
import type { ProxySession } from './session.js';
import { COMMIT_RE } from './sql-text.js';

/**
 * Applies faults, the transaction age limit, a pending OCC failure and the SQL rules to one SQL
 * text. Returns undefined when the session was dropped. An extended-protocol COMMIT gets only
 * the rules here: what happens to it is decided at each of its Executes (`failureOf`).
 */
export function decide(s: ProxySession, protocol: 'simple' | 'extended', sql: string): Decided | undefined {
  s.ctx.stats.queries++;
  if (protocol === 'simple' || !COMMIT_RE.test(sql)) {
    const failed = failureOf(s, sql);
    if (failed !== NOTHING_MORE) return failed;
  }
  const decision = s.rules.onSql(sql, context(s, protocol));
  if (decision.kind === 'refuse') return { refusal: decision.error };
  return { sql: decision.sql, tag: decision.commandTag, tags: decision.commandTags, writesRows: decision.writesRows, transaction: decision.transaction };
}

/** What the rules are told about the statement at hand. */
export function context(s: ProxySession, protocol: SqlContext['protocol']): SqlContext {
  return { protocol, txStatus: s.sendStatus, executeChecked: s.executeChecked };
}

/** Advances `sendStatus` past a statement sent upstream, by its BEGIN / COMMIT / ROLLBACK. */
export function follow(s: ProxySession, transaction: 'opens' | 'closes' | undefined): void {
  if (transaction === 'closes') sendIdle(s);
  // BEGIN in a failed block fails too (25P02); in an open one it only warns.
  else if (transaction === 'opens' && s.sendStatus === 'I') {
    s.sendStatus = 'T';
    s.serial++;
  }
}

/** What is sent next runs outside a transaction block. */
export function sendIdle(s: ProxySession): void {
  s.sendStatus = 'I';
  s.occState.txSavepointSent = false;
}

/** A statement the proxy fails aborts a block, as PostgreSQL's own errors do. */
export function afterRefusal(s: ProxySession): void {
  if (s.sendStatus === 'T') s.sendStatus = 'E';
}

/**
 * DSQL's per-transaction rules for one Execute (one DDL, no DDL with DML): every execution of
 * a statement counts, whichever batch parsed it. A later Execute of a portal already started
 * only fetches more rows of the same run. The analysis is the rules' cached one (no parse).
 */
export function checkExecution(s: ProxySession, info: StatementInfo, portal: PortalInfo): SqlError | undefined {
  if (portal.started) return undefined;
  portal.started = true;
  if (!s.executeChecked || !info.forwarded) return undefined;
  // Outside a block each batch is a transaction of its own, pipelined or not: its first
  // Execute tells the rules to start counting afresh.
  return s.rules.onExecute!(info.sql, { ...context(s, 'extended'), batchStart: !s.batchExecuted });
}

/**
 * Opens a transaction for this extended batch before its first writing Execute, so a row cap
 * reported by onCommandComplete can undo an autocommit statement. Uses a named statement and
 * portal of the proxy's own, so the client's unnamed ones are untouched.
 */
export function wrapBatch(s: ProxySession, execute: Pending): void {
  s.batchWrapped = true;
  hiddenStatement(s, 'dsql_local_begin', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
  if (s.ctx.occ) {
    // An autocommit write commits at once: it waits for a lock, as a COMMIT does (see occ-arbiter.ts).
    hiddenStatement(s, 'dsql_local_commit_wait', COMMIT_LOCK_TIMEOUT);
    startCommitting(s, execute);
  }
}

/** A CommandComplete: the tag the rules asked for, offered to the rules' `onCommandComplete` (row caps) before it is relayed. */
export function onCommandComplete(s: ProxySession, frame: Buffer, h: Pending | undefined): void {
  if (h?.k === K.Execute) shift(s);
  // Relayed once the proxy's COMMIT around it is done (see `stash`).
  if (h?.wrapped) s.stash ??= [];
  if (h?.commitError) {
    if (h.commitError.code === '40001') s.ctx.stats.occConflicts++;
    emit(s, errorResponse(h.commitError));
    return;
  }
  if (h?.commitSerial !== undefined && !h.wrapped && !h.commitError && frame.length === 12 && frame.toString('latin1', 5, 11) === 'COMMIT') {
    noteCommitted(s, h.commitSerial);
  }
  let override = h?.tag;
  if (h?.tags) override = h.tags[(h.completed = (h.completed ?? 0) + 1) - 1];
  if (h?.tagVerb) override = `${h.tagVerb} ${/\d+$/.exec(commandTagOf(frame))?.[0] ?? '0'}`;
  const tag = override ?? commandTagOf(frame);
  const check = s.rules.onCommandComplete;
  if (check && h) {
    const ctx: SqlContext = { protocol: h.k === K.Simple ? 'simple' : 'extended', txStatus: s.txStatus, executeChecked: s.executeChecked };
    if (h.writesRows !== undefined) ctx.writesRows = h.writesRows;
    const err = check.call(s.rules, tag, ctx);
    if (err) {
      emit(s, errorResponse(err));
      if (h.k === K.Simple) h.ccFailed = true;
      else {
        s.ccFailedBatch = true;
        s.skipUntilSync = true;
      }
      return;
    }
  }
  emit(s, override !== undefined ? commandComplete(tag) : frame);
}
