/**
 * Upstream → client: each answer is matched to its request (requests.ts) and relayed, rewritten
 * or consumed; ReadyForQuery ends a request and is where the proxy finishes what it started
 * (rollbacks after a conflict or a refused row count, COMMITs of transactions it opened).
 */
import { serialize } from 'pg-protocol';
import type { TxStatus } from '../sql/hook.js';
import { commandComplete, errorFields, errorFromFields, readyForQuery } from '../wire/backend.js';
import { release } from './client-frames.js';
import { emit, flushClient, internal, unstash } from './framing.js';
import { closeForAge, isIdle } from './limits.js';
import { noteCommitted, releaseLocks, transactionEnded } from './occ-commit.js';
import { onError, plausibleTag, replayExtended, replayOf, translateConflict } from './occ-translation.js';
import { allAnswered, FAILING_SQL, K, dropUntilSync, peek, push, shift, type Pending } from './requests.js';
import { onCommandComplete } from './rules.js';
import type { ProxySession } from './session.js';
import { FOR_LOCK_RE, READ_RE, WRITE_RE } from './sql-text.js';

/** Handles one message from upstream: matched to the head request, then relayed, rewritten or consumed. */
export function onUpstreamFrame(s: ProxySession, type: number, frame: Buffer): void {
  if (s.closed || s.dropping) return;
  const h = peek(s);
  if (h?.onDone) {
    if (type === 0x45) h.error ??= errorFields(frame);
    else if (type === 0x5a) {
      shift(s);
      h.onDone(String.fromCharCode(frame[5]!) as TxStatus, h.error);
    }
    return;
  }
  if (h?.hidden) {
    if (type === 0x31 || type === 0x32 || type === 0x33 || type === 0x43 || type === 0x45) shift(s);
    if (type === 0x45) {
      if (h.k === K.Parse) s.hiddenPrepared.delete(h.name!);
      dropUntilSync(s);
    }
    if (type !== 0x5a) return;
  }
  if (h?.drop && (type === 0x43 || type === 0x45 || type === 0x5a)) {
    // The COMMIT reached PostgreSQL; the client never learns its outcome.
    s.close();
    return;
  }
  if (type === 0x5a /* Z */) return onReady(s, frame);
  if (s.skipUntilSync) return;
  switch (type) {
    case 0x43 /* C */:
      return onCommandComplete(s, frame, h);
    case 0x45 /* E */:
      return onError(s, frame, h);
    case 0x31 /* 1 */:
      if (h?.k === K.Parse) shift(s);
      break;
    case 0x32 /* 2 */:
      if (h?.k === K.Bind) shift(s);
      break;
    case 0x33 /* 3 */:
      if (h?.k === K.Close) shift(s);
      break;
    case 0x54 /* T */:
      if (h?.k === K.Simple) {
        if (h.skipDescription) return;
        h.described = true;
      }
      if (h?.k === K.Describe) shift(s);
      break;
    case 0x6e /* n */:
      if (h?.k === K.Describe) shift(s);
      break;
    case 0x49 /* I */:
    case 0x73 /* s */:
      if (h?.k === K.Execute) shift(s);
      break;
    default:
  }
  emit(s, frame);
}

/** ReadyForQuery: the head request is answered; finishes what the proxy started in it before the client hears. */
export function onReady(s: ProxySession, frame: Buffer): void {
  let p: Pending | undefined;
  while ((p = shift(s))) if (p.k === K.Simple || p.k === K.Sync || p.k === K.Func) break;
  s.skipUntilSync = false;
  const status = String.fromCharCode(frame[5]!) as TxStatus;

  if (p?.rollbackAtSync) {
    internal(s, 'ROLLBACK', () => ready(s, 'I', readyForQuery('I')));
    return;
  }
  if (p?.occ || s.occState.occBatch) {
    const replay = p?.occ ? p.sql : undefined;
    const described = p?.described === true;
    const extendedReplay = s.occState.occReplay;
    s.occState.occBatch = false;
    s.occState.occReplay = undefined;
    internal(s, s.occState.occRollback, () => {
      const lookup = s.occState.lookupBeforeAnswer;
      s.occState.lookupBeforeAnswer = undefined;
      if (lookup) {
        void lookup.then(() => {
          if (s.closed) return;
          answer();
          flushClient(s);
        });
      } else answer();
    });
    const answer = (): void => {
      if (extendedReplay) {
        replayExtended(s, extendedReplay);
        return;
      }
      // Rows as the snapshot sees them, without waiting: a locking read without its lock
      // clause; an UPDATE / DELETE … RETURNING as the SELECT of the rows it would return.
      const rows =
        replay === undefined ? undefined : READ_RE.test(replay) && FOR_LOCK_RE.test(replay) ? replayOf({ kind: 'locking-read', sent: replay }) : WRITE_RE.test(replay) ? replayOf({ kind: 'returning', sent: replay }) : undefined;
      if (rows) {
        push(s, { k: K.Simple, skipDescription: described, tagVerb: rows.tagVerb });
        s.upstream.write(serialize.query(rows.sql));
        return;
      }
      if (replay !== undefined) emit(s, commandComplete(plausibleTag(replay)));
      ready(s, 'T', readyForQuery('T'));
    };
    return;
  }
  if (s.ccFailedBatch || p?.ccFailed) {
    s.ccFailedBatch = false;
    if (p?.wrapped) {
      internal(s, 'ROLLBACK', () => ready(s, 'I', readyForQuery('I')));
      return;
    }
    if (status === 'T') {
      internal(s, FAILING_SQL, () => ready(s, 'E', readyForQuery('E')));
      return;
    }
  }
  if (p?.wrapped) {
    internal(s, status === 'E' ? 'ROLLBACK' : 'COMMIT', (_s, err) => {
      if (status !== 'E' && !err) noteCommitted(s, s.serial);
      // Nothing was committed: the client gets the error instead of the statement's completion.
      unstash(s, !err);
      if (err) emit(s, errorFromFields(translateConflict(err, s.ctx.stats)));
      ready(s, 'I', readyForQuery('I'));
    });
    return;
  }
  ready(s, status, frame);
}

/** Relays a ReadyForQuery with `status`: the transaction state moves on, held frames and an aged close may go. */
export function ready(s: ProxySession, status: TxStatus, frame: Buffer): void {
  unstash(s, true);
  if (status !== 'I' && s.txStatus === 'I') s.txStart = s.requestStart || Date.now();
  if (status === 'I') {
    s.txStart = 0;
    transactionEnded(s);
  }
  s.txStatus = status;
  // With nothing sent after it, this answer is the state the next statement runs in.
  const pipelined = !allAnswered(s);
  // Doomed by the arbiter while busy: free the locks now that upstream is idle.
  if (s.occState.releaseWhenIdle && !pipelined && !s.occState.arbitrating) releaseLocks(s);
  if (!pipelined) {
    s.sendStatus = status;
    // Upstream is idle: whatever the proxy had to finish first is done.
    s.holdNext = false;
  }
  s.rules.onReadyForQuery?.(status, pipelined);
  emit(s, frame);
  if (s.held && !pipelined && !s.occState.arbitrating) release(s);
  if (s.closeWhenIdle && isIdle(s)) {
    flushClient(s);
    closeForAge(s);
  }
}
