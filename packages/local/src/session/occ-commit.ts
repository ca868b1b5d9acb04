/**
 * The session's side of first-committer-wins (see occ-arbiter.ts): savepoints before writes in a
 * block, statements that met a lock deferred to COMMIT, and the COMMIT held back until they ran
 * again and the arbiter said whether this transaction won.
 */
import { serialize } from 'pg-protocol';
import type { SqlError } from '../sql/hook.js';
import { release } from './client-frames.js';
import { flushUpstream, hiddenStatement, internal, ownStatementBatch } from './framing.js';
import { OC000 } from './occ-translation.js';
import { FAILING_SQL, K, NO_BIND_VALUES, NO_PARAM_TYPES, push, type Deferred, type Pending } from './requests.js';
import type { Holder } from './occ-arbiter.js';
import type { ProxySession } from './session.js';

/** Rolls the open transaction back to before its first write, keeping its snapshot (see occ-arbiter.ts). */
export const RELEASE_LOCKS = 'ROLLBACK TO SAVEPOINT dsql_local_tx';

/** Without that savepoint: a fresh transaction (the snapshot is lost). */
export const RESTART = 'ROLLBACK; BEGIN ISOLATION LEVEL REPEATABLE READ';

/**
 * How long a statement may wait for a lock where waiting is what DSQL's outcome needs: a
 * statement replayed at COMMIT, an autocommit write, and every statement outside the writes of a
 * transaction block — the upstream sessions' `lock_timeout` (a read or a DDL statement meeting
 * another session's schema change in progress waits for its end, see occ-translation.ts). A
 * wait past it is a conflict.
 */
export const LOCK_WAIT_BOUND_MS = 5_000;

/** Sets LOCK_WAIT_BOUND_MS for the rest of the transaction. */
export const COMMIT_LOCK_TIMEOUT = `SET LOCAL lock_timeout = '${LOCK_WAIT_BOUND_MS}ms'`;

/** The short wait of a block's writes and locking reads (`lockTimeoutMs`), for the rest of the transaction. */
function shortLockTimeout(s: ProxySession): string {
  return `SET LOCAL lock_timeout = '${s.ctx.lockTimeoutMs}ms'`;
}

/** Upstream errors of a replay at COMMIT that mean another transaction committed first. */
export const REPLAY_CONFLICT_CODES = new Set(['40001', '40P01', '55P03', '23505', '23503']);

/** `while updating tuple (0,1) in relation "t"`: the row version a lock-timeout error waited for. */
export const WAITED_ROW_RE = /while (?:updating|deleting|locking) tuple \((\d+,\d+)\) in relation "([^"]+)"/;

/**
 * A session's optimistic-concurrency state, mostly of the transaction it is sending upstream:
 * whether it lost, what it deferred to COMMIT, whose locks it met, where a conflict rolls it
 * back to (reset by `transactionEnded`); and which of its recent transactions committed.
 */
export class OccState {
  /** This transaction lost: its COMMIT fails with `doomedError`. */
  doomed = false;
  doomedError: SqlError = OC000;
  /** A conflict was swallowed in the current extended batch: answered once the transaction is reset. */
  occBatch = false;
  /** The conflicting Execute of `occBatch` has rows to answer with: the SELECT that gives them. */
  occReplay: { sql: string; tagVerb?: string; paramTypes: Buffer; bindTail: Buffer } | undefined;
  /** Statements that met a lock in this transaction, to run again at COMMIT. */
  deferred: Deferred[] = [];
  /** Transactions whose locks this one met; if one of them commits first, this one loses. */
  holders: Holder[] = [];
  /** Lookups of `holders` under way (see `lookUpHolders`). */
  holderLookups: Promise<void>[] = [];
  /** Recently committed transactions of this session, by number. */
  readonly committedSerials: number[] = [];
  /** SAVEPOINT dsql_local_tx was sent in the transaction being sent. */
  txSavepointSent = false;
  /** Doomed by the arbiter: roll back to dsql_local_tx (releasing locks) once upstream is idle. */
  releaseWhenIdle = false;
  /** The COMMIT held back while deferred statements are replayed. */
  arbitrating = false;
  /** The held COMMIT may go: its transaction won. */
  commitCleared = false;
  /** What a swallowed conflict rolls back (see onError). */
  occRollback = RESTART;
  /**
   * The holder lookup of the statement just set aside: its answer waits for it, so a holder
   * that commits after the client has its answer is known by then (see occ-arbiter.ts).
   */
  lookupBeforeAnswer: Promise<void> | undefined;
}

/** Frees the row locks of a doomed transaction, keeping its snapshot (and its failed state). */
export function releaseLocks(s: ProxySession): void {
  s.occState.releaseWhenIdle = false;
  const sql = s.occState.txSavepointSent ? RELEASE_LOCKS : RESTART;
  if (sql === RESTART) s.occState.txSavepointSent = false;
  internal(s, s.txStatus === 'E' ? `${sql}; ${FAILING_SQL}` : sql, () => {});
}

/** The transaction ended (upstream is idle): nothing of its OCC state carries over to the next. */
export function transactionEnded(s: ProxySession): void {
  s.occState.doomed = false;
  s.occState.doomedError = OC000;
  s.committing = false;
  s.changingSchema = false;
  s.occState.commitCleared = false;
  s.occState.releaseWhenIdle = false;
  if (s.occState.deferred.length) s.occState.deferred = [];
  if (s.occState.holders.length) s.occState.holders = [];
  if (s.occState.holderLookups.length) s.occState.holderLookups = [];
}

/** Remembers that transaction `serial` committed (the last 16), for the arbiter's `committed()`. */
export function noteCommitted(s: ProxySession, serial: number | undefined): void {
  if (serial === undefined) return;
  s.occState.committedSerials.push(serial);
  if (s.occState.committedSerials.length > 16) s.occState.committedSerials.shift();
}

/**
 * Takes the savepoint a statement about to run in a block is rolled back to if it meets a lock
 * (`dsql_local_s`), after the one before the transaction's first write (`dsql_local_tx`). Before
 * that first one, the transaction's lock waits become short (`lockTimeoutMs`): a write that meets
 * a lock is set aside at once. It is set before `dsql_local_tx`, so rolling back to either
 * savepoint keeps it; a RESTART loses it with the savepoints, and the next write sets it again.
 */
export function savepoint(s: ProxySession, extended: boolean): void {
  const first = !s.occState.txSavepointSent;
  s.occState.txSavepointSent = true;
  if (extended) {
    if (first) {
      hiddenStatement(s, 'dsql_local_lock_timeout', shortLockTimeout(s));
      hiddenStatement(s, 'dsql_local_tx', 'SAVEPOINT dsql_local_tx');
    }
    hiddenStatement(s, 'dsql_local_s', 'SAVEPOINT dsql_local_s');
    return;
  }
  push(s, { k: K.Internal, onDone: () => {} });
  s.toUpstream.push(serialize.query(first ? `${shortLockTimeout(s)}; SAVEPOINT dsql_local_tx; SAVEPOINT dsql_local_s` : 'SAVEPOINT dsql_local_s'));
}

/** A COMMIT or an autocommit write is being sent: others wait for its outcome (see occ-arbiter.ts). */
export function startCommitting(s: ProxySession, p: Pending): void {
  if (!s.ctx.occ) return;
  s.committing = true;
  if (p.wrapped || (p.k === K.Execute && s.batchWrapped)) s.serial++;
  p.commitSerial = s.serial;
  if (p.wrapped || s.batchWrapped) s.ctx.occ.watch(s);
}

/**
 * An autocommit DDL statement or locking read is being sent: it commits at once, so it goes
 * first, as on DSQL. Where it waits for a lock, the arbiter dooms a live transaction holding it
 * (whose COMMIT then fails: OC001 if its schema changed under it) and waits for one that is
 * committing (for DDL, an autocommit DDL statement of another session on the same object: then
 * this one lost, see occ-translation.ts `lostSchemaRace`).
 */
export function startAutocommitLocking(s: ProxySession, kind: 'ddl' | 'locking-read'): void {
  if (!s.ctx.occ) return;
  s.committing = true;
  s.changingSchema = kind === 'ddl';
  s.ctx.occ.watch(s);
}

/** The COMMIT about to be sent needs its deferred statements replayed first. */
export function mustArbitrate(s: ProxySession): boolean {
  return (
    s.ctx.occ !== undefined &&
    !s.occState.commitCleared &&
    !s.occState.doomed &&
    s.sendStatus === 'T' &&
    (s.occState.deferred.length > 0 || s.occState.holders.length > 0 || s.occState.holderLookups.length > 0)
  );
}

/**
 * Holds the COMMIT (and everything after it) back, replays the deferred statements allowing
 * them to wait while the arbiter settles what they wait for, then lets the COMMIT go — as it
 * is if this transaction won, failed with OC000 (doomed) if it lost.
 */
export function arbitrate(s: ProxySession, frame: Buffer): void {
  s.held = [Buffer.from(frame)];
  s.client.pause();
  s.occState.arbitrating = true;
  void s.ctx.occ!.turn().then(async (done) => {
    let lost: SqlError | undefined;
    try {
      // Doomed while waiting for the turn: another COMMIT got there first.
      if (s.occState.doomed || s.closed) lost = s.occState.doomedError;
      else {
        s.committing = true;
        // A session closing mid-way leaves its replays unanswered: the turn must not wait for them.
        lost = await Promise.race([settle(s), s.whenClosed.then(() => OC000)]);
      }
    } catch {
      lost = OC000;
    } finally {
      done();
    }
    arbitrated(s, lost);
  });
}

/** The arbitration is over: the held COMMIT goes as it is (won) or fails with `lost`. */
export function arbitrated(s: ProxySession, lost: SqlError | undefined): void {
  s.occState.arbitrating = false;
  if (s.closed) return;
  if (lost) {
    s.occState.doomed = true;
    s.occState.doomedError = lost;
    s.committing = false;
  } else s.occState.commitCleared = true;
  if (s.held) release(s);
}

/** Whether this transaction lost (and with what error), once its deferred statements ran again. */
export async function settle(s: ProxySession): Promise<SqlError | undefined> {
  await Promise.all(s.occState.holderLookups);
  if (s.occState.holders.some((h) => h.session.committed(h.serial))) return OC000;
  // Holders still running lose now: they have not committed and this transaction commits.
  for (const h of s.occState.holders) if (h.session.serial === h.serial) h.session.doom();
  if (s.occState.deferred.length === 0) return undefined;
  const answers: Promise<Map<string, string> | undefined>[] = [hiddenRun(s, { sql: COMMIT_LOCK_TIMEOUT, paramTypes: NO_PARAM_TYPES, bindTail: NO_BIND_VALUES })];
  for (const d of s.occState.deferred) answers.push(hiddenRun(s, d));
  flushUpstream(s);
  s.ctx.occ!.watch(s);
  for (const err of await Promise.all(answers)) {
    if (!err) continue;
    const code = err.get('C') ?? '';
    if (REPLAY_CONFLICT_CODES.has(code)) return OC000;
    return { code, message: err.get('M') ?? 'error', ...(err.has('D') ? { detail: err.get('D')! } : {}) };
  }
  // A holder that only locked the row and committed first does not fail the replay upstream.
  if (s.occState.holders.some((h) => h.session.committed(h.serial))) return OC000;
  return undefined;
}

/** Runs a statement of the proxy's own as one hidden extended batch; resolves with its error, if any. */
export function hiddenRun(s: ProxySession, d: Deferred): Promise<Map<string, string> | undefined> {
  return new Promise((resolve) => {
    const name = 'dsql_local_replay';
    push(s, {
      k: K.Internal,
      onDone: (_s, err) => {
        // A failed Execute skipped the Closes after it: drop the statement now.
        if (err && !s.closed) {
          push(s, { k: K.Internal, onDone: () => {} });
          s.upstream.write(Buffer.concat([serialize.close({ type: 'P', name }), serialize.close({ type: 'S', name }), serialize.sync()]));
        }
        resolve(err);
      },
    });
    s.toUpstream.push(
      Buffer.concat([
        // Closing first drops what an earlier failed replay left (closing nothing is no error).
        serialize.close({ type: 'P', name }),
        serialize.close({ type: 'S', name }),
        ...ownStatementBatch(name, d),
      ]),
    );
  });
}

/** Finds, in the background, the transactions holding the row a lock timeout named (`where`: its CONTEXT). */
export function lookUpHolders(s: ProxySession, where: string | undefined): void {
  const m = where === undefined ? null : WAITED_ROW_RE.exec(where);
  if (!m || !s.ctx.occ) return;
  const serial = s.serial;
  const lookup = s.ctx.occ.holdersOf(m[2]!, `(${m[1]})`).then((found) => {
    if (serial !== s.serial) return;
    for (const h of found) if (h.session !== s) s.noteHolder(h);
  });
  s.occState.holderLookups.push(lookup);
  s.occState.lookupBeforeAnswer = lookup;
}
