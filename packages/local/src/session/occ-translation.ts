/**
 * OCC translation: an upstream lock wait or serialization failure becomes what DSQL reports —
 * OC000 / OC001 (40001), at COMMIT inside a transaction block, with a plausible answer (or the
 * rows, replayed without their locks) for the statement that met it. See occ-arbiter.ts.
 */
import { cancelRequestedRecently } from '../accept/cancel-requests.js';
import type { SqlError } from '../sql/hook.js';
import { returningReplaySql } from '../sql/returning-replay.js';
import type { DsqlLocalStats } from '../stats.js';
import { commandComplete, errorFields, errorFromFields, errorResponse } from '../wire/backend.js';
import { emit, ownStatementBatch } from './framing.js';
import { RELEASE_LOCKS, RESTART, lookUpHolders, type OccState } from './occ-commit.js';
import { K, dropUntilSync, hasPendingBeyondHead, pendingCount, push, shift, type Pending, type Replayable } from './requests.js';
import type { ProxySession } from './session.js';
import { DDL_RE, FOR_LOCK_RE, READ_RE } from './sql-text.js';

/** DSQL's OCC data-conflict error. */
export const OC000: SqlError = { code: '40001', message: 'change conflicts with another transaction (OC000)' };

/** DSQL's OCC schema-conflict error. */
export const OC001: SqlError = { code: '40001', message: 'schema has been updated by another transaction (OC001)' };

/** Upstream errors that mean "another transaction got there first". */
export const CONFLICT_CODES = new Set(['40001', '40P01', '55P03']);

/** The SELECT that answers for a replayable statement, and the verb its CommandComplete must carry. */
export function replayOf(r: Pick<Replayable, 'kind' | 'sent'>): { sql: string; tagVerb?: string } | undefined {
  if (r.kind === 'locking-read') return { sql: r.sent.replace(FOR_LOCK_RE, '') };
  const sql = returningReplaySql(r.sent);
  return sql === undefined ? undefined : { sql, tagVerb: /^\s*(\w+)/.exec(r.sent)![1]!.toUpperCase() };
}

/** Rewrites a conflict error to DSQL's text; counts it. */
export function translateConflict(fields: Map<string, string>, stats: DsqlLocalStats): Map<string, string> {
  if (CONFLICT_CODES.has(fields.get('C') ?? '')) {
    stats.occConflicts++;
    fields.set('C', OC000.code);
    fields.set('M', OC000.message);
    fields.delete('D');
  }
  return fields;
}

/** The tag a statement would most plausibly have completed with (used for a doomed statement). */
export function plausibleTag(sql: string): string {
  const words = /^\s*(\w+)(?:\s+(\w+))?/.exec(sql);
  const verb = words?.[1]?.toUpperCase() ?? '';
  const object = words?.[2]?.toUpperCase();
  if ((verb === 'CREATE' || verb === 'ALTER' || verb === 'DROP') && object && /^(TABLE|INDEX|VIEW|SCHEMA|SEQUENCE|FUNCTION|ROLE)$/.test(object)) {
    return `${verb} ${object}`;
  }
  if (verb === 'INSERT') return 'INSERT 0 1';
  if (verb === 'UPDATE' || verb === 'DELETE' || verb === 'MERGE' || verb === 'SELECT') return `${verb} 1`;
  return verb;
}

/**
 * A DDL statement that waited for another session's schema change to the same object and found
 * it committed: PostgreSQL fails it on the catalog's unique index (`23505` on a `pg_…` index, as
 * two `CREATE TABLE` of one name do), or on the table's row type a racing `CREATE TABLE IF NOT
 * EXISTS` meets (`42710 type "…" already exists`, which a table created earlier never gives:
 * its name is found first). DSQL fails the loser at its commit with OC001, once the winner's
 * object exists (a retry's `IF NOT EXISTS` then finds it).
 */
export function lostSchemaRace(sql: string, fields: Map<string, string>): boolean {
  if (!DDL_RE.test(sql)) return false;
  const code = fields.get('C');
  if (code === '23505') return (fields.get('n') ?? '').startsWith('pg_');
  return code === '42710' && /^type ".*" already exists$/.test(fields.get('M') ?? '');
}

/** An ErrorResponse from upstream: a refusal of the proxy's own, an error relayed as it is, or a conflict translated. */
export function onError(s: ProxySession, frame: Buffer, h: Pending | undefined): void {
  const extended = h !== undefined && h.k !== K.Simple && h.k !== K.Func;
  if (extended) {
    shift(s);
    dropUntilSync(s);
  }
  if (h?.refusal) {
    emit(s, errorResponse(h.refusal));
    h.refusal = undefined;
    return;
  }
  const fields = errorFields(frame);
  let code = fields.get('C') ?? '';
  // A lock timeout PostgreSQL reported as a cancel (see cancel-requests.ts): not the client's.
  if (code === '57014' && s.ctx.occ && !cancelRequestedRecently(s.pid)) code = '55P03';
  const sql = h?.sql ?? '';
  if (lostSchemaRace(sql, fields)) code = '40001';
  if (!CONFLICT_CODES.has(code)) {
    emit(s, frame);
    return;
  }
  // A conflict inside a transaction block: DSQL never waits and never fails the statement; it
  // fails the COMMIT. Remember the transaction is doomed, reset the upstream transaction so
  // later statements keep working, and answer the statement plausibly. Only when nothing else
  // is pipelined behind it; otherwise (and in autocommit) the conflict surfaces at once.
  // Schema locks: DDL, or a plain read that waited (only DDL takes locks that block reads).
  const schema = DDL_RE.test(sql) || (READ_RE.test(sql) && !FOR_LOCK_RE.test(sql));
  const conflict = schema ? OC001 : OC000;
  const inBlock = s.txStatus === 'T' && h !== undefined && !h.wrapped;
  const alone = extended ? pendingCount(s) === 1 : !hasPendingBeyondHead(s);
  // A read has no plausible answer without its rows: it fails at once, as on DSQL.
  if (inBlock && alone && !(schema && READ_RE.test(sql))) {
    if (code === '55P03' && h.savepointed && h.deferral && !schema) {
      // Another live transaction holds the row: who wins is decided at COMMIT (see occ-arbiter.ts).
      if (!s.occState.doomed) {
        s.occState.deferred.push(h.deferral);
        lookUpHolders(s, fields.get('W'));
      }
      s.occState.occRollback = 'ROLLBACK TO SAVEPOINT dsql_local_s';
    } else {
      // Someone committed a conflicting change first (40001), or no savepoint to go back to.
      s.occState.doomed = true;
      s.occState.doomedError = conflict;
      s.occState.occRollback = h.savepointed && !schema ? RELEASE_LOCKS : RESTART;
      if (s.occState.occRollback === RESTART) s.occState.txSavepointSent = false;
    }
    if (h.k === K.Simple) h.occ = true;
    else {
      s.occState.occBatch = true;
      // A statement whose rows are its answer is answered by a SELECT once the transaction is
      // reset (see `Replayable`); anything else gets its plausible tag now.
      const replay = h.replay && replayOf(h.replay);
      if (replay) s.occState.occReplay = { ...replay, paramTypes: h.replay!.paramTypes, bindTail: h.replay!.bindTail };
      else emit(s, commandComplete(plausibleTag(h.sql ?? '')));
    }
    return;
  }
  s.ctx.stats.occConflicts++;
  fields.set('C', conflict.code);
  fields.set('M', conflict.message);
  fields.delete('D');
  fields.delete('H');
  emit(s, errorFromFields(fields));
}

/**
 * Answers an extended-protocol statement that met a conflict with its rows (see `Replayable`),
 * once the transaction is back at the savepoint before it: a statement and portal of the proxy's
 * own (the client's are untouched), the client's parameters and result formats, no Describe (its RowDescription
 * was relayed already if it asked). Its rows, CommandComplete and the batch's ReadyForQuery
 * reach the client as the answer to the original Execute.
 */
export function replayExtended(s: ProxySession, r: NonNullable<OccState['occReplay']>): void {
  const name = 'dsql_local_replay';
  push(s, { k: K.Parse, hidden: true });
  push(s, { k: K.Bind, hidden: true });
  push(s, { k: K.Execute, tagVerb: r.tagVerb });
  push(s, { k: K.Close, hidden: true });
  push(s, { k: K.Close, hidden: true });
  push(s, { k: K.Sync });
  s.upstream.write(Buffer.concat(ownStatementBatch(name, r)));
}
