/**
 * Limits a statement or the session meets besides the SQL rules: injected query / COMMIT faults,
 * DSQL's transaction age limit (54000), a doomed COMMIT, and the connection age (the session
 * closes at its first idle moment past it). Row caps are the rules' (rules.ts).
 */
import { serialize } from 'pg-protocol';
import type { SqlError } from '../sql/hook.js';
import { allAnswered, NOTHING_MORE, type Decided } from './requests.js';
import type { ProxySession } from './session.js';
import { COMMIT_RE } from './sql-text.js';

/** The connection reached its age: closed now if idle, else at its next idle moment (DSQL never closes mid-transaction). */
export function onAgeDeadline(s: ProxySession): void {
  if (isIdle(s)) closeForAge(s);
  else s.closeWhenIdle = true;
}

/** Closes the session for its age (counted in `closedForAge`). */
export function closeForAge(s: ProxySession): void {
  s.ctx.stats.closedForAge++;
  s.close();
}

/** No transaction open and nothing pending upstream. */
export function isIdle(s: ProxySession): boolean {
  return s.txStatus === 'I' && allAnswered(s);
}

/**
 * Faults, the transaction age limit and a doomed COMMIT for one SQL text (everything `decide`
 * does but the SQL rules; also run for each Execute of a prepared COMMIT and each re-execution
 * of a prepared statement). NOTHING_MORE when none applies; undefined when the session was
 * dropped.
 */
export function failureOf(s: ProxySession, sql: string): Decided | undefined {
  const { ctx } = s;
  const isCommit = COMMIT_RE.test(sql);
  if (!ctx.faults.empty) {
    const f = ctx.faults.take(isCommit ? 'commit' : 'query', sql);
    if (f?.kind === 'drop' && !isCommit) {
      s.close();
      return undefined;
    }
    if (f?.kind === 'drop') {
      // A COMMIT the proxy would refuse must not commit when dropped either: DSQL's outcome
      // would be "not committed" (the client only cannot tell).
      if (s.occState.doomed || ageError(s)) {
        dropRolledBack(s);
        return undefined;
      }
      return { drop: true };
    }
    if (f?.kind === 'error') {
      const err: SqlError = { code: f.error.code, message: f.error.message };
      return isCommit ? { commitError: err } : { refusal: err };
    }
  }
  const aged = ageError(s);
  if (aged) return isCommit ? { commitError: aged } : { refusal: aged };
  if (isCommit && s.occState.doomed) return { commitError: s.occState.doomedError };
  return NOTHING_MORE;
}

/**
 * Drops a session whose COMMIT must not commit: the COMMIT is not sent; upstream gets a Sync
 * (ends any batch in progress), ROLLBACK and Terminate, and the client socket closes only once
 * upstream has closed, so the transaction is rolled back before the client sees the drop.
 */
export function dropRolledBack(s: ProxySession): void {
  s.dropping = true;
  s.toUpstream = [];
  s.client.pause();
  const { upstream } = s;
  if (upstream.destroyed) return s.close();
  upstream.end(Buffer.concat([serialize.sync(), serialize.query('ROLLBACK'), serialize.end()]));
  // upstream's 'close' calls close(); PostgreSQL closes right after Terminate, but do not wait forever.
  setTimeout(() => s.close(), 5000).unref();
}

/** The 54000 error when the open transaction is older than the limit. */
export function ageError(s: ProxySession): SqlError | undefined {
  const { ctx } = s;
  if (s.txStatus !== 'T' || !s.txStart || Date.now() - s.txStart <= ctx.maxTransactionAgeMs) return undefined;
  ctx.stats.transactionAgeExceeded++;
  const limit = ctx.maxTransactionAgeMs / 1000;
  return {
    code: '54000',
    message: `transaction age limit of ${limit}s exceeded`,
    detail: `Current transaction age ${Math.floor((Date.now() - s.txStart) / 1000)}s exceeds ${limit}s`,
  };
}
