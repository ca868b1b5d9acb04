/**
 * Client → upstream: what the session does with each message a client sends — SQL texts go
 * through the rules, faults and limits (rules.ts), writes and locking reads get their OCC
 * savepoints (occ-commit.ts), COMMITs may be held for arbitration; the rest is forwarded.
 */
import { serialize } from 'pg-protocol';
import { cstring, message, readCString } from '../wire/frames.js';
import { flushUpstream } from './framing.js';
import { failureOf } from './limits.js';
import { COMMIT_LOCK_TIMEOUT, arbitrate, mustArbitrate, savepoint, startAutocommitLocking, startCommitting } from './occ-commit.js';
import { FAILING_SQL, K, NOTHING_MORE, NO_BIND_VALUES, NO_PARAM_TYPES, push, type Pending, type StatementInfo } from './requests.js';
import { afterRefusal, checkExecution, decide, follow, sendIdle, wrapBatch } from './rules.js';
import type { ProxySession } from './session.js';
import { COMMIT_RE, DDL_RE, RETURNING_RE, WRITE_RE, isLockingRead } from './sql-text.js';

/** Handles one message from the client: forwarded, rewritten, failed in place or held back. */
export function onClientFrame(s: ProxySession, type: number, frame: Buffer): void {
  if (s.closed || s.dropping) return;
  // CopyData / CopyDone / CopyFail belong to the COPY already running upstream: never held.
  if (type === 0x64 || type === 0x63 || type === 0x66) {
    s.toUpstream.push(frame);
    return;
  }
  if (s.held) {
    s.held.push(Buffer.from(frame));
    return;
  }
  if (s.holdNext) {
    // The request before this frame must be finished first (see `held`).
    s.holdNext = false;
    s.held = [Buffer.from(frame)];
    s.client.pause();
    return;
  }
  // Parse, Bind, Describe, Execute, Close: an extended batch is open until its Sync.
  if (type === 0x50 || type === 0x42 || type === 0x44 || type === 0x45 || type === 0x43) s.batchOpen = true;
  switch (type) {
    case 0x51 /* Q */: {
      const sql = frame.toString('utf8', 5, frame.length - 1);
      if (mustArbitrate(s) && COMMIT_RE.test(sql)) return arbitrate(s, frame);
      const d = decide(s, 'simple', sql);
      if (!d) return;
      const p: Pending = { k: K.Simple, sql, tag: d.tag, tags: d.tags, refusal: d.refusal, commitError: d.commitError, drop: d.drop };
      if (d.refusal) {
        push(s, p);
        s.toUpstream.push(serialize.query(FAILING_SQL));
        afterRefusal(s);
        return;
      }
      if (d.commitError) {
        push(s, p);
        s.toUpstream.push(serialize.query('ROLLBACK'));
        sendIdle(s);
        return;
      }
      const sent = d.sql ?? sql;
      p.writesRows = d.writesRows ?? WRITE_RE.test(sent);
      if (s.rules.onCommandComplete && s.sendStatus === 'I' && !d.transaction && p.writesRows) {
        // Row caps must be able to undo an autocommit statement: run it in a transaction we
        // open, and close once its answer is in, before anything pipelined behind it runs.
        p.wrapped = true;
        s.holdNext = true;
        push(s, { k: K.Internal, onDone: () => {} });
        // An autocommit write commits at once: it waits for a lock, as a COMMIT does (see occ-arbiter.ts).
        s.toUpstream.push(serialize.query(s.ctx.occ ? `BEGIN ISOLATION LEVEL REPEATABLE READ; ${COMMIT_LOCK_TIMEOUT}` : 'BEGIN ISOLATION LEVEL REPEATABLE READ'));
        startCommitting(s, p);
      } else if (s.ctx.occ && s.sendStatus === 'T' && !d.transaction && (p.writesRows || isLockingRead(sent))) {
        savepoint(s, false);
        p.savepointed = true;
        p.deferral = { sql: sent, paramTypes: NO_PARAM_TYPES, bindTail: NO_BIND_VALUES };
      } else if (s.sendStatus === 'T' && s.ctx.occ && COMMIT_RE.test(sql)) {
        startCommitting(s, p);
      } else if (s.sendStatus === 'I' && !d.transaction && (DDL_RE.test(sql) || isLockingRead(sent))) {
        startAutocommitLocking(s, DDL_RE.test(sql) ? 'ddl' : 'locking-read');
      }
      push(s, p);
      s.toUpstream.push(d.sql !== undefined ? serialize.query(d.sql) : frame);
      follow(s, d.transaction);
      return;
    }
    case 0x50 /* P */: {
      const [name, afterName] = readCString(frame, 5);
      const [sql, afterSql] = readCString(frame, afterName);
      const d = decide(s, 'extended', sql);
      if (!d) return;
      const info: StatementInfo = {
        sql,
        batch: s.batchNo,
        forwarded: !d.refusal,
        commit: COMMIT_RE.test(sql),
        tag: d.tag,
        drop: d.drop,
        writesRows: !d.refusal && (d.writesRows ?? WRITE_RE.test(d.sql ?? sql)),
        transaction: d.transaction,
      };
      const sent = d.sql ?? sql;
      if (!d.refusal) {
        const lockingRead = isLockingRead(sent);
        const kind = lockingRead ? 'locking-read' : info.writesRows && RETURNING_RE.test(sent) ? 'returning' : undefined;
        const paramTypes = kind || info.writesRows ? Buffer.from(frame.subarray(afterSql)) : undefined;
        if (kind) info.replayable = { kind, sent, paramTypes: paramTypes! };
        if (lockingRead || info.writesRows) info.takesLocks = { sent, paramTypes: paramTypes! };
      }
      s.statements.set(name, info);
      if (d.refusal) {
        s.batchRefused = true;
        afterRefusal(s);
      }
      push(s, { k: K.Parse, refusal: d.refusal });
      const text = d.refusal ? FAILING_SQL : d.sql;
      s.toUpstream.push(text === undefined ? frame : message('P', cstring(name), cstring(text), frame.subarray(afterSql)));
      return;
    }
    case 0x42 /* B */: {
      const [portal, afterPortal] = readCString(frame, 5);
      const [stmt, afterStmt] = readCString(frame, afterPortal);
      const statement = s.statements.get(stmt);
      // Copied for statements that take row locks only: a read's Bind costs no allocation here.
      const bindTail = statement?.takesLocks ? Buffer.from(frame.subarray(afterStmt)) : undefined;
      s.portals.set(portal, { statement, started: false, bindTail });
      push(s, { k: K.Bind });
      break;
    }
    case 0x45 /* E */: {
      const [portal, afterPortal] = readCString(frame, 5);
      const bound = s.portals.get(portal);
      let info = bound?.statement;
      if (info?.commit && !s.batchRefused && mustArbitrate(s)) return arbitrate(s, frame);
      // A later Execute of a started portal fetches more rows of the same run.
      const firstRun = bound?.started === false;
      // After a failure the proxy made in this batch PostgreSQL runs nothing up to Sync.
      if (info && !s.batchRefused) {
        // A prepared statement run again: faults and the transaction age limit apply to every
        // execution, not only to the Parse (which applied them). A COMMIT is decided here only.
        const again = info.commit || info.batch !== s.batchNo ? failureOf(s, info.sql) : NOTHING_MORE;
        if (again === undefined) return;
        const refusal = again.refusal ?? again.commitError ?? checkExecution(s, info, bound!);
        if (refusal) {
          // Fail it in place, as a refused Parse is failed: a Parse that cannot succeed, then
          // PostgreSQL skips to Sync (and a transaction block is aborted: 25P02 follows). A
          // failed COMMIT also ends the transaction, as on DSQL: rolled back once the batch is
          // answered, whose ReadyForQuery then says 'I'.
          if (again.commitError) {
            s.rollbackAtSync = true;
            sendIdle(s);
            if (again.commitError.code === '40001') s.ctx.stats.occConflicts++;
          } else afterRefusal(s);
          s.batchRefused = true;
          push(s, { k: K.Parse, refusal });
          s.toUpstream.push(serialize.parse({ name: 'dsql_local_refused', text: FAILING_SQL }));
          return;
        }
        if (again.drop) info = { ...info, drop: true };
      }
      const runs = !s.batchRefused;
      const allRows = frame.readInt32BE(afterPortal) === 0;
      const execute: Pending = { k: K.Execute, sql: info?.sql, tag: info?.tag, drop: info?.drop, writesRows: info?.writesRows };
      if (runs && info?.writesRows && !info.transaction && s.rules.onCommandComplete && !s.batchExecuted && s.sendStatus === 'I') {
        wrapBatch(s, execute);
      } else if (runs && s.ctx.occ && s.sendStatus === 'T' && info?.takesLocks && !info.transaction && bound?.bindTail && allRows && firstRun) {
        savepoint(s, true);
        execute.savepointed = true;
        execute.deferral = { sql: info.takesLocks.sent, paramTypes: info.takesLocks.paramTypes, bindTail: bound.bindTail };
      } else if (runs && info?.commit && s.sendStatus === 'T') {
        startCommitting(s, execute);
      } else if (runs && info && s.sendStatus === 'I' && !info.transaction && (DDL_RE.test(info.sql) || info.replayable?.kind === 'locking-read')) {
        startAutocommitLocking(s, DDL_RE.test(info.sql) ? 'ddl' : 'locking-read');
      }
      s.batchExecuted = true;
      if (s.batchWrapped) execute.wrapped = true;
      // A replay returns every row: only for an Execute that asked for all of them (max rows 0).
      if (info?.replayable && bound?.bindTail && allRows) {
        execute.replay = { ...info.replayable, bindTail: bound.bindTail };
      }
      push(s, execute);
      if (runs) follow(s, info?.transaction);
      break;
    }
    case 0x44 /* D */:
      push(s, { k: K.Describe });
      break;
    case 0x43 /* C */: {
      const [name] = readCString(frame, 6);
      if (frame[5] === 0x53 /* S */) s.statements.delete(name);
      else s.portals.delete(name);
      push(s, { k: K.Close });
      break;
    }
    case 0x53 /* S */: {
      const sync: Pending = { k: K.Sync };
      if (s.batchWrapped) sync.wrapped = true;
      if (s.rollbackAtSync) sync.rollbackAtSync = true;
      // The proxy finishes these batches upstream when they are answered (see `held`).
      s.holdNext = s.batchWrapped || s.rollbackAtSync;
      s.batchWrapped = false;
      s.rollbackAtSync = false;
      push(s, sync);
      s.batchOpen = false;
      s.batchExecuted = false;
      s.batchRefused = false;
      s.batchNo++;
      break;
    }
    case 0x46 /* F */:
      push(s, { k: K.Func });
      break;
    case 0x58 /* X */:
      // close() sends upstream its own Terminate after what is already queued.
      flushUpstream(s);
      s.close();
      return;
    default:
    // Flush: forwarded as it is.
  }
  s.toUpstream.push(frame);
}

/** Handles the client frames held back (see `held`), now that upstream is idle. */
export function release(s: ProxySession): void {
  const frames = s.held!;
  s.held = undefined;
  s.requestStart = Date.now();
  for (const f of frames) {
    if (s.closed) return;
    onClientFrame(s, f[0]!, f);
  }
  flushUpstream(s);
  if (!s.held) s.client.resume();
}
