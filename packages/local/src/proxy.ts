/**
 * The steady-state proxy for one authenticated session: forwards bytes both ways, frames them,
 * and acts on the few messages that matter to DSQL emulation — SQL texts (rules, faults, COMMIT),
 * CommandComplete (tag overrides, row caps), ErrorResponse (OCC) and ReadyForQuery (transaction
 * state, connection age).
 *
 * Responses are matched to requests with a FIFO of pending requests, in the order they were sent
 * upstream; PostgreSQL answers in that order. Requests the proxy adds itself (rollback after a
 * conflict, opening a transaction around an autocommit statement) go through the same FIFO marked
 * hidden, so their answers never reach the client.
 */
import { cancelRequestedRecently } from './accept/cancel-requests.js';
import type net from 'node:net';
import type tls from 'node:tls';
import { serialize } from 'pg-protocol';
import type { FaultBook } from './admission/faults.js';
import type { Holder, OccArbiter, OccParticipant } from './session/occ-arbiter.js';
import type { SqlContext, SqlError, SqlSession, TxStatus } from './sql/hook.js';
import type { DsqlLocalStats } from './stats.js';
import { commandComplete, commandTagOf, errorFields, errorFromFields, errorResponse, readyForQuery } from './wire/backend.js';
import { returningReplaySql } from './sql/returning-replay.js';
import { FrameLengthError, FrameReader, cstring, message, readCString } from './wire/frames.js';

/** DSQL's OCC data-conflict error. */
export const OC000: SqlError = { code: '40001', message: 'change conflicts with another transaction (OC000)' };
/** DSQL's OCC schema-conflict error. */
export const OC001: SqlError = { code: '40001', message: 'schema has been updated by another transaction (OC001)' };
const DDL_RE = /^\s*(?:create|alter|drop|grant|revoke|comment)\b/i;
const READ_RE = /^\s*select\b/i;

/** Upstream errors that mean "another transaction got there first". */
const CONFLICT_CODES = new Set(['40001', '40P01', '55P03']);
const COMMIT_RE = /^\s*(?:commit|end)(?:\s+(?:work|transaction))?\s*;?\s*$/i;
const FOR_LOCK_RE = /\s+for\s+(?:update|no\s+key\s+update|share|key\s+share)(?:\s+of\s+[\w.,\s"]+?)?(?:\s+nowait|\s+skip\s+locked)?\s*;?\s*$/i;
const WRITE_RE = /^\s*(?:insert|update|delete|with|merge)\b/i;
const RETURNING_RE = /\breturning\b/i;
/** A statement PostgreSQL rejects at parse time: used to put a transaction into the aborted state. */
const FAILING_SQL = 'DSQL_LOCAL_ABORT';

/** Answer of a replayed statement: no parameters, no result formats. */
const NO_PARAM_TYPES = Buffer.from([0, 0]);
const NO_BIND_VALUES = Buffer.from([0, 0, 0, 0, 0, 0]);
/** Rolls the open transaction back to before its first write, keeping its snapshot (see occ.ts). */
const RELEASE_LOCKS = 'ROLLBACK TO SAVEPOINT dsql_local_tx';
/** Without that savepoint: a fresh transaction (the snapshot is lost). */
const RESTART = 'ROLLBACK; BEGIN ISOLATION LEVEL REPEATABLE READ';
/** How long a statement replayed at COMMIT (or an autocommit write) may wait for a lock. */
const COMMIT_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '5s'";
/** Upstream errors of a replay at COMMIT that mean another transaction committed first. */
const REPLAY_CONFLICT_CODES = new Set(['40001', '40P01', '55P03', '23505', '23503']);
/** `while updating tuple (0,1) in relation "t"`: the row version a lock-timeout error waited for. */
const WAITED_ROW_RE = /while (?:updating|deleting|locking) tuple \((\d+,\d+)\) in relation "([^"]+)"/;

/**
 * A statement that met another transaction's lock and was rolled back to its savepoint: run again
 * at COMMIT (see occ.ts), as an extended-protocol statement of the proxy's own.
 */
interface Deferred {
  sql: string;
  /** Parse's parameter type section. */
  paramTypes: Buffer;
  /** Bind's sections after the names. */
  bindTail: Buffer;
}

const enum K {
  Simple,
  Parse,
  Bind,
  Describe,
  Execute,
  Close,
  Sync,
  Func,
  Internal,
}

/** One request sent upstream and not fully answered yet. */
interface Pending {
  k: K;
  /** CommandComplete tag to report instead of upstream's. */
  tag?: string;
  /** Per-statement tag overrides of a multi-statement simple Query, in order. */
  tags?: readonly (string | undefined)[];
  /** CommandCompletes seen so far for this request (indexes `tags`). */
  completed?: number;
  /** A hidden extended-protocol message the proxy added: its answer is consumed here. */
  hidden?: boolean;
  /** A hidden Parse: the name of the statement it prepares. */
  name?: string;
  /** A savepoint (`dsql_local_s`) was taken right before this statement (see occ.ts). */
  savepointed?: boolean;
  /** How to run this statement again at COMMIT if it meets a lock. */
  deferral?: Deferred;
  /** A COMMIT, or a statement the proxy wraps in a transaction: the number of the transaction it ends. */
  commitSerial?: number;
  /** Replaces the first ErrorResponse of this request (the request was made to fail). */
  refusal?: SqlError;
  /** The request is a COMMIT rewritten to ROLLBACK: report this error instead of its tag. */
  commitError?: SqlError;
  /** Close the client socket when the first answer to this request arrives. */
  drop?: boolean;
  /** The client's SQL (simple protocol), for conflict handling. */
  sql?: string;
  /** A conflict was swallowed: answer plausibly once the upstream transaction is reset. */
  occ?: boolean;
  /** The rules' onCommandComplete refused the result. */
  ccFailed?: boolean;
  /**
   * The proxy opened a transaction around this autocommit statement (on a Sync: its batch; on an
   * Execute: the batch it runs in).
   */
  wrapped?: boolean;
  /** A Sync whose batch failed a re-executed COMMIT in place: roll back when it is answered. */
  rollbackAtSync?: boolean;
  /** The statement writes rows (as the rules said when it was sent). */
  writesRows?: boolean;
  /** Hidden request: its answers are consumed here. */
  onDone?: (status: TxStatus, error: Map<string, string> | undefined) => void;
  error?: Map<string, string>;
  /** A RowDescription was already relayed for this request. */
  described?: boolean;
  /** Do not relay this request's RowDescription (a replay after one was relayed). */
  skipDescription?: boolean;
  /** An Execute of a replayable statement: how to produce its rows again after a conflict. */
  replay?: ReplayableExecution;
  /** Report the CommandComplete of a replay (`SELECT n`) as this verb's (`UPDATE n`). */
  tagVerb?: string;
}

/**
 * A statement whose answer has rows that a conflict must not lose: a `SELECT … FOR UPDATE`
 * (re-read without its lock clause) or an `UPDATE` / `DELETE … RETURNING` (its rows computed by
 * a SELECT, see `sql/returning-replay.ts`). Both take no row lock, so they cannot wait again.
 */
interface Replayable {
  kind: 'locking-read' | 'returning';
  /** The statement's text as sent upstream. */
  sent: string;
  /** Parse's parameter type section (int16 count, then OIDs), as the client sent it. */
  paramTypes: Buffer;
}

/** A replayable statement as one Execute ran it. */
interface ReplayableExecution extends Replayable {
  /** Bind's sections after its portal and statement names: formats, values, result formats. */
  bindTail: Buffer;
}

/** The SELECT that answers for a replayable statement, and the verb its CommandComplete must carry. */
function replayOf(r: Pick<Replayable, 'kind' | 'sent'>): { sql: string; tagVerb?: string } | undefined {
  if (r.kind === 'locking-read') return { sql: r.sent.replace(FOR_LOCK_RE, '') };
  const sql = returningReplaySql(r.sent);
  return sql === undefined ? undefined : { sql, tagVerb: /^\s*(\w+)/.exec(r.sent)![1]!.toUpperCase() };
}

/** What `decide` made of one SQL text. */
interface Decided {
  sql?: string;
  tag?: string;
  tags?: readonly (string | undefined)[];
  writesRows?: boolean;
  transaction?: 'opens' | 'closes';
  refusal?: SqlError;
  commitError?: SqlError;
  drop?: boolean;
}

/** Per-statement facts remembered from Parse, looked up at Execute. */
interface StatementInfo {
  sql: string;
  /** The batch (Sync count) it was parsed in: a later Execute re-runs a prepared statement. */
  batch: number;
  /** Its Parse was forwarded as the client's text (not refused). */
  forwarded: boolean;
  /**
   * A COMMIT / END: its Parse is always forwarded as it is, and whether it fails (a fault, the
   * age limit, a doomed transaction) is decided at each Execute. The statement may be named and
   * cached by the driver (Postgres.js), so it must stay a real COMMIT upstream.
   */
  commit: boolean;
  tag?: string;
  writesRows?: boolean;
  /** How each execution leaves the transaction (the rules' `transaction`). */
  transaction?: 'opens' | 'closes';
  drop?: boolean;
  /** A statement a conflict must not leave without its rows (see `Replayable`). */
  replayable?: Replayable;
  /** A write or locking read: its text as sent and Parse's parameter types (see `Deferred`). */
  takesLocks?: { sent: string; paramTypes: Buffer };
}

/** A bound portal: its statement, and whether an Execute already started it. */
interface PortalInfo {
  statement: StatementInfo | undefined;
  /** A later Execute of the same portal fetches more rows of the same run (not a new execution). */
  started: boolean;
  /** For a replayable statement only: Bind's sections after the names (see `ReplayableExecution`). */
  bindTail?: Buffer;
}

const NOTHING_MORE: Decided = {};

/** Limits and services a session needs from its server. */
export interface ProxyContext {
  faults: FaultBook;
  stats: DsqlLocalStats;
  maxTransactionAgeMs: number;
  /** When the session must close (ms since epoch), at the first idle moment after it. */
  closeAt: number;
  /** The server's OCC arbiter; without it lock waits doom the transaction that met them. */
  occ?: OccArbiter;
  /** Upstream backend process id (from BackendKeyData). */
  pid?: number;
}

/** Runs one session until either side closes. */
export class ProxySession implements OccParticipant {
  /** PostgreSQL's own limit on a client message (PQ_LARGE_MESSAGE_LIMIT): nothing longer is buffered. */
  private readonly fromClient = new FrameReader(0x3fffffff);
  private readonly fromUpstream = new FrameReader();
  private readonly queue: Pending[] = [];
  private head = 0;
  private toUpstream: Buffer[] = [];
  private toClient: Buffer[] = [];
  /**
   * Answers held back from the client: from the CommandComplete of a statement the proxy wrapped
   * in a transaction of its own until that transaction's COMMIT is done, so no client learns of
   * a completion (COPY FROM STDIN resolves on it) before other connections can see its rows.
   */
  private stash: Buffer[] | undefined;
  /** Status from the last ReadyForQuery relayed to the client. */
  private txStatus: TxStatus = 'I';
  /**
   * The status once everything sent upstream so far has run, as far as can be told when sending
   * (clients pipeline): what the rules are told a statement runs in (see `SqlContext.txStatus`).
   */
  private sendStatus: TxStatus = 'I';
  /**
   * Client frames held back until the request before them is fully answered: set after a
   * request the proxy must finish upstream itself before anything else runs there (COMMIT or
   * ROLLBACK of a transaction it opened around an autocommit write; ROLLBACK after a COMMIT
   * failed in place).
   */
  private held: Buffer[] | undefined;
  private holdNext = false;
  private txStart = 0;
  private requestStart = 0;
  private doomed = false;
  private doomedError: SqlError = OC000;
  private occBatch = false;
  /** The conflicting Execute of `occBatch` has rows to answer with: the SELECT that gives them. */
  private occReplay: { sql: string; tagVerb?: string; paramTypes: Buffer; bindTail: Buffer } | undefined;
  private ccFailedBatch = false;
  private skipUntilSync = false;
  /** The proxy opened a transaction around the current extended-protocol batch. */
  private batchWrapped = false;
  /** An Execute was sent since the last Sync. */
  private batchExecuted = false;
  /** The proxy failed a message of this batch: PostgreSQL skips the rest of it, up to Sync. */
  private batchRefused = false;
  /** A re-executed COMMIT was failed in place: roll back when its batch is answered. */
  private rollbackAtSync = false;
  /** Syncs sent so far. */
  private batchNo = 0;
  private closeWhenIdle = false;
  private closed = false;
  /** Upstream is rolling back and closing for a dropped COMMIT: nothing more is relayed. */
  private dropping = false;
  private readonly statements = new Map<string, StatementInfo>();
  private readonly portals = new Map<string, PortalInfo>();
  private ageTimer: NodeJS.Timeout | undefined;

  // ---- optimistic concurrency (see occ.ts) ----
  readonly pid: number;
  /** Number of the transaction being sent upstream (grows when one opens). */
  serial = 0;
  committing = false;
  /** Statements that met a lock in this transaction, to run again at COMMIT. */
  private deferred: Deferred[] = [];
  /** Transactions whose locks this one met; if one of them commits first, this one loses. */
  private holders: Holder[] = [];
  private holderLookups: Promise<void>[] = [];
  /** Recently committed transactions of this session, by number. */
  private readonly committedSerials: number[] = [];
  /** SAVEPOINT dsql_local_tx was sent in the transaction being sent. */
  private txSavepointSent = false;
  /** Doomed by the arbiter: roll back to dsql_local_tx (releasing locks) once upstream is idle. */
  private releaseWhenIdle = false;
  /** The COMMIT held back while deferred statements are replayed. */
  private arbitrating = false;
  /** The held COMMIT may go: its transaction won. */
  private commitCleared = false;
  /** What a swallowed conflict rolls back (see onError). */
  private occRollback = RESTART;
  /**
   * The holder lookup of the statement just set aside: its answer waits for it, so a holder
   * that commits after the client has its answer is known by then (see occ.ts).
   */
  private lookupBeforeAnswer: Promise<void> | undefined;
  /** Resolves when the session closes: an arbitration in progress stops waiting for upstream. */
  private onClosed: () => void = () => {};
  private readonly whenClosed = new Promise<void>((resolve) => (this.onClosed = resolve));
  /** Named statements the proxy prepared upstream for itself. */
  private readonly hiddenPrepared = new Set<string>();
  /**
   * The rules check every execution (`onExecute`), so Parse only checks the text: a named
   * prepared statement is parsed once and may run in many transactions.
   */
  private readonly executeChecked: boolean;

  constructor(
    private readonly client: tls.TLSSocket,
    private readonly upstream: net.Socket,
    private readonly rules: SqlSession,
    private readonly ctx: ProxyContext,
    private readonly onClose: () => void,
  ) {
    this.executeChecked = typeof rules.onExecute === 'function';
    this.pid = ctx.pid ?? 0;
  }

  /** OccParticipant: a replay at COMMIT or an autocommit write is running upstream. */
  get waiting(): boolean {
    return this.committing && !this.closed && this.head < this.queue.length;
  }

  /** OccParticipant: this transaction is in the way of one that commits first (see occ.ts). */
  doom(): void {
    if (this.committing || this.closed || this.sendStatus === 'I') return;
    this.doomed = true;
    this.doomedError = OC000;
    this.releaseWhenIdle = true;
    // Upstream idle (frames held back for an arbitration included): free the locks now.
    if (this.head === this.queue.length) this.releaseLocks();
    // A COMMIT waiting for its turn, sent in the middle of an extended batch (Parse and Bind
    // went ahead): nothing runs upstream, but the batch is open — free them within it.
    else if (this.arbitrating && this.txSavepointSent) {
      this.releaseWhenIdle = false;
      void this.hiddenRun({ sql: RELEASE_LOCKS, paramTypes: NO_PARAM_TYPES, bindTail: NO_BIND_VALUES });
      this.flushUpstream();
    }
  }

  committed(serial: number): boolean {
    return this.committedSerials.includes(serial);
  }

  noteHolder(holder: Holder): void {
    if (!this.holders.some((h) => h.session === holder.session && h.serial === holder.serial)) this.holders.push(holder);
  }

  /** Frees the row locks of a doomed transaction, keeping its snapshot (and its failed state). */
  private releaseLocks(): void {
    this.releaseWhenIdle = false;
    const sql = this.txSavepointSent ? RELEASE_LOCKS : RESTART;
    if (sql === RESTART) this.txSavepointSent = false;
    this.internal(this.txStatus === 'E' ? `${sql}; ${FAILING_SQL}` : sql, () => {});
  }

  private noteCommitted(serial: number | undefined): void {
    if (serial === undefined) return;
    this.committedSerials.push(serial);
    if (this.committedSerials.length > 16) this.committedSerials.shift();
  }

  /** Starts forwarding; `rest` is anything upstream sent after its first ReadyForQuery. */
  start(): void {
    const { client, upstream } = this;
    client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    upstream.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    client.on('drain', () => upstream.resume());
    upstream.on('drain', () => client.resume());
    client.on('close', () => this.close());
    upstream.on('close', () => this.close());
    client.on('error', () => this.close());
    upstream.on('error', () => this.close());
    upstream.resume();
    if (this.ctx.occ && this.pid) this.ctx.occ.register(this);
    const delay = this.ctx.closeAt - Date.now();
    if (Number.isFinite(delay)) {
      this.ageTimer = setTimeout(() => this.onAgeDeadline(), Math.max(0, delay));
      this.ageTimer.unref();
    }
  }

  /** Ends the session: both sockets close. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.ageTimer);
    this.ctx.occ?.unregister(this);
    this.onClosed();
    this.client.destroy();
    if (!this.upstream.destroyed && !this.upstream.writableEnded) {
      this.upstream.end(serialize.end());
      this.upstream.destroySoon();
    }
    this.onClose();
  }

  private onAgeDeadline(): void {
    if (this.isIdle()) this.closeForAge();
    else this.closeWhenIdle = true;
  }

  private closeForAge(): void {
    this.ctx.stats.closedForAge++;
    this.close();
  }

  private isIdle(): boolean {
    return this.txStatus === 'I' && this.head === this.queue.length;
  }

  // ---- queue -------------------------------------------------------------------------------

  private push(p: Pending): Pending {
    this.queue.push(p);
    return p;
  }

  private peek(): Pending | undefined {
    return this.queue[this.head];
  }

  private shift(): Pending | undefined {
    const p = this.queue[this.head];
    if (p === undefined) return undefined;
    this.head++;
    if (this.head > 256 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return p;
  }

  /** After an error in the extended protocol PostgreSQL skips everything up to Sync. */
  private dropUntilSync(): void {
    for (let p = this.peek(); p && p.k !== K.Sync && p.k !== K.Internal; p = this.peek()) {
      // Our BEGIN statement was skipped with the rest of the batch: it does not exist.
      if (p.hidden && p.k === K.Parse) this.hiddenPrepared.delete(p.name!);
      this.shift();
    }
  }

  private hasPendingBeyondHead(): boolean {
    return this.queue.length - this.head > 1;
  }

  /** Sends a hidden simple query upstream; `onDone` gets its final status and first error. */
  private internal(sql: string, onDone: NonNullable<Pending['onDone']>): void {
    this.push({ k: K.Internal, onDone });
    this.upstream.write(serialize.query(sql));
  }

  // ---- client → upstream -------------------------------------------------------------------

  private onClientData(chunk: Buffer): void {
    if (this.head === this.queue.length) this.requestStart = Date.now();
    try {
      this.fromClient.feed(chunk, (type, frame) => this.onClientFrame(type, frame));
    } catch (err) {
      // As PostgreSQL: a message whose length cannot be right ends the session.
      if (err instanceof FrameLengthError && !this.closed) {
        this.client.pause();
        this.client.end(errorResponse({ severity: 'FATAL', code: '08P01', message: 'invalid message length' }), () => this.close());
        setTimeout(() => this.close(), 1000).unref();
        return;
      }
      this.close();
      return;
    }
    this.flushUpstream();
  }

  private flushUpstream(): void {
    const out = this.toUpstream;
    if (out.length === 0 || this.closed || this.dropping) return;
    this.toUpstream = [];
    const ok = this.upstream.write(joined(out));
    if (!ok) this.client.pause();
  }

  private onClientFrame(type: number, frame: Buffer): void {
    if (this.closed || this.dropping) return;
    // CopyData / CopyDone / CopyFail belong to the COPY already running upstream: never held.
    if (type === 0x64 || type === 0x63 || type === 0x66) {
      this.toUpstream.push(frame);
      return;
    }
    if (this.held) {
      this.held.push(Buffer.from(frame));
      return;
    }
    if (this.holdNext) {
      // The request before this frame must be finished first (see `held`).
      this.holdNext = false;
      this.held = [Buffer.from(frame)];
      this.client.pause();
      return;
    }
    switch (type) {
      case 0x51 /* Q */: {
        const sql = frame.toString('utf8', 5, frame.length - 1);
        if (this.mustArbitrate() && COMMIT_RE.test(sql)) return this.arbitrate(frame);
        const d = this.decide('simple', sql);
        if (!d) return;
        const p: Pending = { k: K.Simple, sql, tag: d.tag, tags: d.tags, refusal: d.refusal, commitError: d.commitError, drop: d.drop };
        if (d.refusal) {
          this.push(p);
          this.toUpstream.push(serialize.query(FAILING_SQL));
          this.afterRefusal();
          return;
        }
        if (d.commitError) {
          this.push(p);
          this.toUpstream.push(serialize.query('ROLLBACK'));
          this.sendIdle();
          return;
        }
        const sent = d.sql ?? sql;
        p.writesRows = d.writesRows ?? WRITE_RE.test(sent);
        if (this.rules.onCommandComplete && this.sendStatus === 'I' && !d.transaction && p.writesRows) {
          // Row caps must be able to undo an autocommit statement: run it in a transaction we
          // open, and close once its answer is in, before anything pipelined behind it runs.
          p.wrapped = true;
          this.holdNext = true;
          this.push({ k: K.Internal, onDone: () => {} });
          // An autocommit write commits at once: it waits for a lock, as a COMMIT does (see occ.ts).
          this.toUpstream.push(serialize.query(this.ctx.occ ? `BEGIN ISOLATION LEVEL REPEATABLE READ; ${COMMIT_LOCK_TIMEOUT}` : 'BEGIN ISOLATION LEVEL REPEATABLE READ'));
          this.startCommitting(p);
        } else if (this.ctx.occ && this.sendStatus === 'T' && !d.transaction && (p.writesRows || isLockingRead(sent))) {
          this.savepoint(false);
          p.savepointed = true;
          p.deferral = { sql: sent, paramTypes: NO_PARAM_TYPES, bindTail: NO_BIND_VALUES };
        } else if (this.sendStatus === 'T' && this.ctx.occ && COMMIT_RE.test(sql)) {
          this.startCommitting(p);
        }
        this.push(p);
        this.toUpstream.push(d.sql !== undefined ? serialize.query(d.sql) : frame);
        this.follow(d.transaction);
        return;
      }
      case 0x50 /* P */: {
        const [name, afterName] = readCString(frame, 5);
        const [sql, afterSql] = readCString(frame, afterName);
        const d = this.decide('extended', sql);
        if (!d) return;
        const info: StatementInfo = {
          sql,
          batch: this.batchNo,
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
        this.statements.set(name, info);
        if (d.refusal) {
          this.batchRefused = true;
          this.afterRefusal();
        }
        this.push({ k: K.Parse, refusal: d.refusal });
        const text = d.refusal ? FAILING_SQL : d.sql;
        this.toUpstream.push(text === undefined ? frame : message('P', cstring(name), cstring(text), frame.subarray(afterSql)));
        return;
      }
      case 0x42 /* B */: {
        const [portal, afterPortal] = readCString(frame, 5);
        const [stmt, afterStmt] = readCString(frame, afterPortal);
        const statement = this.statements.get(stmt);
        // Copied for statements that take row locks only: a read's Bind costs no allocation here.
        const bindTail = statement?.takesLocks ? Buffer.from(frame.subarray(afterStmt)) : undefined;
        this.portals.set(portal, { statement, started: false, bindTail });
        this.push({ k: K.Bind });
        break;
      }
      case 0x45 /* E */: {
        const [portal, afterPortal] = readCString(frame, 5);
        const bound = this.portals.get(portal);
        let info = bound?.statement;
        if (info?.commit && !this.batchRefused && this.mustArbitrate()) return this.arbitrate(frame);
        // A later Execute of a started portal fetches more rows of the same run.
        const firstRun = bound?.started === false;
        // After a failure the proxy made in this batch PostgreSQL runs nothing up to Sync.
        if (info && !this.batchRefused) {
          // A prepared statement run again: faults and the transaction age limit apply to every
          // execution, not only to the Parse (which applied them). A COMMIT is decided here only.
          const again = info.commit || info.batch !== this.batchNo ? this.failureOf(info.sql) : NOTHING_MORE;
          if (again === undefined) return;
          const refusal = again.refusal ?? again.commitError ?? this.checkExecution(info, bound!);
          if (refusal) {
            // Fail it in place, as a refused Parse is failed: a Parse that cannot succeed, then
            // PostgreSQL skips to Sync (and a transaction block is aborted: 25P02 follows). A
            // failed COMMIT also ends the transaction, as on DSQL: rolled back once the batch is
            // answered, whose ReadyForQuery then says 'I'.
            if (again.commitError) {
              this.rollbackAtSync = true;
              this.sendIdle();
              if (again.commitError.code === '40001') this.ctx.stats.occConflicts++;
            } else this.afterRefusal();
            this.batchRefused = true;
            this.push({ k: K.Parse, refusal });
            this.toUpstream.push(serialize.parse({ name: 'dsql_local_refused', text: FAILING_SQL }));
            return;
          }
          if (again.drop) info = { ...info, drop: true };
        }
        const runs = !this.batchRefused;
        const allRows = frame.readInt32BE(afterPortal) === 0;
        const execute: Pending = { k: K.Execute, sql: info?.sql, tag: info?.tag, drop: info?.drop, writesRows: info?.writesRows };
        if (runs && info?.writesRows && !info.transaction && this.rules.onCommandComplete && !this.batchExecuted && this.sendStatus === 'I') {
          this.wrapBatch(execute);
        } else if (runs && this.ctx.occ && this.sendStatus === 'T' && info?.takesLocks && !info.transaction && bound?.bindTail && allRows && firstRun) {
          this.savepoint(true);
          execute.savepointed = true;
          execute.deferral = { sql: info.takesLocks.sent, paramTypes: info.takesLocks.paramTypes, bindTail: bound.bindTail };
        } else if (runs && info?.commit && this.sendStatus === 'T') {
          this.startCommitting(execute);
        }
        this.batchExecuted = true;
        if (this.batchWrapped) execute.wrapped = true;
        // A replay returns every row: only for an Execute that asked for all of them (max rows 0).
        if (info?.replayable && bound?.bindTail && allRows) {
          execute.replay = { ...info.replayable, bindTail: bound.bindTail };
        }
        this.push(execute);
        if (runs) this.follow(info?.transaction);
        break;
      }
      case 0x44 /* D */:
        this.push({ k: K.Describe });
        break;
      case 0x43 /* C */: {
        const [name] = readCString(frame, 6);
        if (frame[5] === 0x53 /* S */) this.statements.delete(name);
        else this.portals.delete(name);
        this.push({ k: K.Close });
        break;
      }
      case 0x53 /* S */: {
        const sync: Pending = { k: K.Sync };
        if (this.batchWrapped) sync.wrapped = true;
        if (this.rollbackAtSync) sync.rollbackAtSync = true;
        // The proxy finishes these batches upstream when they are answered (see `held`).
        this.holdNext = this.batchWrapped || this.rollbackAtSync;
        this.batchWrapped = false;
        this.rollbackAtSync = false;
        this.push(sync);
        this.batchExecuted = false;
        this.batchRefused = false;
        this.batchNo++;
        break;
      }
      case 0x46 /* F */:
        this.push({ k: K.Func });
        break;
      case 0x58 /* X */:
        // close() sends upstream its own Terminate after what is already queued.
        this.flushUpstream();
        this.close();
        return;
      default:
      // Flush: forwarded as it is.
    }
    this.toUpstream.push(frame);
  }

  /**
   * Applies faults, the transaction age limit, a pending OCC failure and the SQL rules to one SQL
   * text. Returns undefined when the session was dropped. An extended-protocol COMMIT gets only
   * the rules here: what happens to it is decided at each of its Executes (`failureOf`).
   */
  private decide(
    protocol: 'simple' | 'extended',
    sql: string,
  ): Decided | undefined {
    this.ctx.stats.queries++;
    if (protocol === 'simple' || !COMMIT_RE.test(sql)) {
      const failed = this.failureOf(sql);
      if (failed !== NOTHING_MORE) return failed;
    }
    const decision = this.rules.onSql(sql, this.context(protocol));
    if (decision.kind === 'refuse') return { refusal: decision.error };
    return { sql: decision.sql, tag: decision.commandTag, tags: decision.commandTags, writesRows: decision.writesRows, transaction: decision.transaction };
  }

  /** What the rules are told about the statement at hand. */
  private context(protocol: SqlContext['protocol']): SqlContext {
    return { protocol, txStatus: this.sendStatus, executeChecked: this.executeChecked };
  }

  /** Advances `sendStatus` past a statement sent upstream, by its BEGIN / COMMIT / ROLLBACK. */
  private follow(transaction: 'opens' | 'closes' | undefined): void {
    if (transaction === 'closes') this.sendIdle();
    // BEGIN in a failed block fails too (25P02); in an open one it only warns.
    else if (transaction === 'opens' && this.sendStatus === 'I') {
      this.sendStatus = 'T';
      this.serial++;
    }
  }

  /** What is sent next runs outside a transaction block. */
  private sendIdle(): void {
    this.sendStatus = 'I';
    this.txSavepointSent = false;
  }

  /** A statement the proxy fails aborts a block, as PostgreSQL's own errors do. */
  private afterRefusal(): void {
    if (this.sendStatus === 'T') this.sendStatus = 'E';
  }

  /**
   * DSQL's per-transaction rules for one Execute (one DDL, no DDL with DML): every execution of
   * a statement counts, whichever batch parsed it. A later Execute of a portal already started
   * only fetches more rows of the same run. The analysis is the rules' cached one (no parse).
   */
  private checkExecution(info: StatementInfo, portal: PortalInfo): SqlError | undefined {
    if (portal.started) return undefined;
    portal.started = true;
    if (!this.executeChecked || !info.forwarded) return undefined;
    // Outside a block each batch is a transaction of its own, pipelined or not: its first
    // Execute tells the rules to start counting afresh.
    return this.rules.onExecute!(info.sql, { ...this.context('extended'), batchStart: !this.batchExecuted });
  }

  /**
   * Faults, the transaction age limit and a doomed COMMIT for one SQL text (everything `decide`
   * does but the SQL rules; also run for each Execute of a prepared COMMIT and each re-execution
   * of a prepared statement). NOTHING_MORE when none applies; undefined when the session was
   * dropped.
   */
  private failureOf(sql: string): Decided | undefined {
    const { ctx } = this;
    const isCommit = COMMIT_RE.test(sql);
    if (!ctx.faults.empty) {
      const f = ctx.faults.take(isCommit ? 'commit' : 'query', sql);
      if (f?.kind === 'drop' && !isCommit) {
        this.close();
        return undefined;
      }
      if (f?.kind === 'drop') {
        // A COMMIT the proxy would refuse must not commit when dropped either: DSQL's outcome
        // would be "not committed" (the client only cannot tell).
        if (this.doomed || this.ageError()) {
          this.dropRolledBack();
          return undefined;
        }
        return { drop: true };
      }
      if (f?.kind === 'error') {
        const err: SqlError = { code: f.error.code, message: f.error.message };
        return isCommit ? { commitError: err } : { refusal: err };
      }
    }
    const aged = this.ageError();
    if (aged) return isCommit ? { commitError: aged } : { refusal: aged };
    if (isCommit && this.doomed) return { commitError: this.doomedError };
    return NOTHING_MORE;
  }

  /**
   * Drops a session whose COMMIT must not commit: the COMMIT is not sent; upstream gets a Sync
   * (ends any batch in progress), ROLLBACK and Terminate, and the client socket closes only once
   * upstream has closed, so the transaction is rolled back before the client sees the drop.
   */
  private dropRolledBack(): void {
    this.dropping = true;
    this.toUpstream = [];
    this.client.pause();
    const { upstream } = this;
    if (upstream.destroyed) return this.close();
    upstream.end(Buffer.concat([serialize.sync(), serialize.query('ROLLBACK'), serialize.end()]));
    // upstream's 'close' calls close(); PostgreSQL closes right after Terminate, but do not wait forever.
    setTimeout(() => this.close(), 5000).unref();
  }

  /** The 54000 error when the open transaction is older than the limit. */
  private ageError(): SqlError | undefined {
    const { ctx } = this;
    if (this.txStatus !== 'T' || !this.txStart || Date.now() - this.txStart <= ctx.maxTransactionAgeMs) return undefined;
    ctx.stats.transactionAgeExceeded++;
    const limit = ctx.maxTransactionAgeMs / 1000;
    return {
      code: '54000',
      message: `transaction age limit of ${limit}s exceeded`,
      detail: `Current transaction age ${Math.floor((Date.now() - this.txStart) / 1000)}s exceeds ${limit}s`,
    };
  }

  /**
   * Opens a transaction for this extended batch before its first writing Execute, so a row cap
   * reported by onCommandComplete can undo an autocommit statement. Uses a named statement and
   * portal of the proxy's own, so the client's unnamed ones are untouched.
   */
  private wrapBatch(execute: Pending): void {
    this.batchWrapped = true;
    this.hiddenStatement('dsql_local_begin', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
    if (this.ctx.occ) {
      // An autocommit write commits at once: it waits for a lock, as a COMMIT does (see occ.ts).
      this.hiddenStatement('dsql_local_commit_wait', COMMIT_LOCK_TIMEOUT);
      this.startCommitting(execute);
    }
  }

  /**
   * Runs one statement of the proxy's own inside the client's extended batch, with a named
   * statement and portal (the client's unnamed ones are untouched); prepared once per session.
   */
  private hiddenStatement(name: string, text: string): void {
    if (!this.hiddenPrepared.has(name)) {
      this.hiddenPrepared.add(name);
      this.push({ k: K.Parse, hidden: true, name });
      this.toUpstream.push(serialize.parse({ name, text }));
    }
    this.push({ k: K.Bind, hidden: true });
    this.toUpstream.push(serialize.bind({ portal: name, statement: name }));
    this.push({ k: K.Execute, hidden: true });
    this.toUpstream.push(serialize.execute({ portal: name }));
    // Inside a block a named portal lives until the transaction ends: closed for the next Bind.
    this.push({ k: K.Close, hidden: true });
    this.toUpstream.push(serialize.close({ type: 'P', name }));
  }

  /**
   * Takes the savepoint a statement about to run in a block is rolled back to if it meets a lock
   * (`dsql_local_s`), after the one before the transaction's first write (`dsql_local_tx`).
   */
  private savepoint(extended: boolean): void {
    const first = !this.txSavepointSent;
    this.txSavepointSent = true;
    if (extended) {
      if (first) this.hiddenStatement('dsql_local_tx', 'SAVEPOINT dsql_local_tx');
      this.hiddenStatement('dsql_local_s', 'SAVEPOINT dsql_local_s');
      return;
    }
    this.push({ k: K.Internal, onDone: () => {} });
    this.toUpstream.push(serialize.query(first ? 'SAVEPOINT dsql_local_tx; SAVEPOINT dsql_local_s' : 'SAVEPOINT dsql_local_s'));
  }

  /** A COMMIT or an autocommit write is being sent: others wait for its outcome (see occ.ts). */
  private startCommitting(p: Pending): void {
    if (!this.ctx.occ) return;
    this.committing = true;
    if (p.wrapped || (p.k === K.Execute && this.batchWrapped)) this.serial++;
    p.commitSerial = this.serial;
    if (p.wrapped || this.batchWrapped) this.ctx.occ.watch(this);
  }

  /** The COMMIT about to be sent needs its deferred statements replayed first. */
  private mustArbitrate(): boolean {
    return (
      this.ctx.occ !== undefined &&
      !this.commitCleared &&
      !this.doomed &&
      this.sendStatus === 'T' &&
      (this.deferred.length > 0 || this.holders.length > 0 || this.holderLookups.length > 0)
    );
  }

  /**
   * Holds the COMMIT (and everything after it) back, replays the deferred statements allowing
   * them to wait while the arbiter settles what they wait for, then lets the COMMIT go — as it
   * is if this transaction won, failed with OC000 (doomed) if it lost.
   */
  private arbitrate(frame: Buffer): void {
    this.held = [Buffer.from(frame)];
    this.client.pause();
    this.arbitrating = true;
    void this.ctx.occ!.turn().then(async (done) => {
      let lost: SqlError | undefined;
      try {
        // Doomed while waiting for the turn: another COMMIT got there first.
        if (this.doomed || this.closed) lost = this.doomedError;
        else {
          this.committing = true;
          // A session closing mid-way leaves its replays unanswered: the turn must not wait for them.
          lost = await Promise.race([this.settle(), this.whenClosed.then(() => OC000)]);
        }
      } catch {
        lost = OC000;
      } finally {
        done();
      }
      this.arbitrated(lost);
    });
  }

  private arbitrated(lost: SqlError | undefined): void {
    this.arbitrating = false;
    if (this.closed) return;
    if (lost) {
      this.doomed = true;
      this.doomedError = lost;
      this.committing = false;
    } else this.commitCleared = true;
    if (this.held) this.release();
  }

  /** Whether this transaction lost (and with what error), once its deferred statements ran again. */
  private async settle(): Promise<SqlError | undefined> {
    await Promise.all(this.holderLookups);
    if (this.holders.some((h) => h.session.committed(h.serial))) return OC000;
    // Holders still running lose now: they have not committed and this transaction commits.
    for (const h of this.holders) if (h.session.serial === h.serial) h.session.doom();
    if (this.deferred.length === 0) return undefined;
    const answers: Promise<Map<string, string> | undefined>[] = [this.hiddenRun({ sql: COMMIT_LOCK_TIMEOUT, paramTypes: NO_PARAM_TYPES, bindTail: NO_BIND_VALUES })];
    for (const d of this.deferred) answers.push(this.hiddenRun(d));
    this.flushUpstream();
    this.ctx.occ!.watch(this);
    for (const err of await Promise.all(answers)) {
      if (!err) continue;
      const code = err.get('C') ?? '';
      if (REPLAY_CONFLICT_CODES.has(code)) return OC000;
      return { code, message: err.get('M') ?? 'error', ...(err.has('D') ? { detail: err.get('D')! } : {}) };
    }
    // A holder that only locked the row and committed first does not fail the replay upstream.
    if (this.holders.some((h) => h.session.committed(h.serial))) return OC000;
    return undefined;
  }

  /** Runs a statement of the proxy's own as one hidden extended batch; resolves with its error, if any. */
  private hiddenRun(d: Deferred): Promise<Map<string, string> | undefined> {
    return new Promise((resolve) => {
      const name = 'dsql_local_replay';
      this.push({
        k: K.Internal,
        onDone: (_s, err) => {
          // A failed Execute skipped the Closes after it: drop the statement now.
          if (err && !this.closed) {
            this.push({ k: K.Internal, onDone: () => {} });
            this.upstream.write(Buffer.concat([serialize.close({ type: 'P', name }), serialize.close({ type: 'S', name }), serialize.sync()]));
          }
          resolve(err);
        },
      });
      this.toUpstream.push(
        Buffer.concat([
          // Closing first drops what an earlier failed replay left (closing nothing is no error).
          serialize.close({ type: 'P', name }),
          serialize.close({ type: 'S', name }),
          message('P', cstring(name), cstring(d.sql), d.paramTypes),
          message('B', cstring(name), cstring(name), d.bindTail),
          serialize.execute({ portal: name }),
          serialize.close({ type: 'P', name }),
          serialize.close({ type: 'S', name }),
          serialize.sync(),
        ]),
      );
    });
  }

  /** Finds, in the background, the transactions holding the row a lock timeout named (`where`: its CONTEXT). */
  private lookUpHolders(where: string | undefined): void {
    const m = where === undefined ? null : WAITED_ROW_RE.exec(where);
    if (!m || !this.ctx.occ) return;
    const serial = this.serial;
    const lookup = this.ctx.occ.holdersOf(m[2]!, `(${m[1]})`).then((found) => {
      if (serial !== this.serial) return;
      for (const h of found) if (h.session !== this) this.noteHolder(h);
    });
    this.holderLookups.push(lookup);
    this.lookupBeforeAnswer = lookup;
  }

  // ---- upstream → client -------------------------------------------------------------------

  private onUpstreamData(chunk: Buffer): void {
    try {
      this.fromUpstream.feed(chunk, (type, frame) => this.onUpstreamFrame(type, frame));
    } catch {
      this.close();
      return;
    }
    this.flushClient();
  }

  private flushClient(): void {
    const out = this.toClient;
    if (out.length === 0 || this.closed) return;
    this.toClient = [];
    const ok = this.client.write(joined(out));
    if (!ok) this.upstream.pause();
  }

  private emit(buf: Buffer): void {
    (this.stash ?? this.toClient).push(buf);
  }

  /** Relays what `stash` held back (`keep` false: drops it), in order. */
  private unstash(keep: boolean): void {
    const held = this.stash;
    this.stash = undefined;
    if (keep && held) for (const f of held) this.toClient.push(f);
  }

  private onUpstreamFrame(type: number, frame: Buffer): void {
    if (this.closed || this.dropping) return;
    const h = this.peek();
    if (h?.onDone) {
      if (type === 0x45) h.error ??= errorFields(frame);
      else if (type === 0x5a) {
        this.shift();
        h.onDone(String.fromCharCode(frame[5]!) as TxStatus, h.error);
      }
      return;
    }
    if (h?.hidden) {
      if (type === 0x31 || type === 0x32 || type === 0x33 || type === 0x43 || type === 0x45) this.shift();
      if (type === 0x45) {
        if (h.k === K.Parse) this.hiddenPrepared.delete(h.name!);
        this.dropUntilSync();
      }
      if (type !== 0x5a) return;
    }
    if (h?.drop && (type === 0x43 || type === 0x45 || type === 0x5a)) {
      // The COMMIT reached PostgreSQL; the client never learns its outcome.
      this.close();
      return;
    }
    if (type === 0x5a /* Z */) return this.onReady(frame);
    if (this.skipUntilSync) return;
    switch (type) {
      case 0x43 /* C */:
        return this.onCommandComplete(frame, h);
      case 0x45 /* E */:
        return this.onError(frame, h);
      case 0x31 /* 1 */:
        if (h?.k === K.Parse) this.shift();
        break;
      case 0x32 /* 2 */:
        if (h?.k === K.Bind) this.shift();
        break;
      case 0x33 /* 3 */:
        if (h?.k === K.Close) this.shift();
        break;
      case 0x54 /* T */:
        if (h?.k === K.Simple) {
          if (h.skipDescription) return;
          h.described = true;
        }
        if (h?.k === K.Describe) this.shift();
        break;
      case 0x6e /* n */:
        if (h?.k === K.Describe) this.shift();
        break;
      case 0x49 /* I */:
      case 0x73 /* s */:
        if (h?.k === K.Execute) this.shift();
        break;
      default:
    }
    this.emit(frame);
  }

  private onCommandComplete(frame: Buffer, h: Pending | undefined): void {
    if (h?.k === K.Execute) this.shift();
    // Relayed once the proxy's COMMIT around it is done (see `stash`).
    if (h?.wrapped) this.stash ??= [];
    if (h?.commitError) {
      if (h.commitError.code === '40001') this.ctx.stats.occConflicts++;
      this.emit(errorResponse(h.commitError));
      return;
    }
    if (h?.commitSerial !== undefined && !h.wrapped && !h.commitError && frame.length === 12 && frame.toString('latin1', 5, 11) === 'COMMIT') {
      this.noteCommitted(h.commitSerial);
    }
    let override = h?.tag;
    if (h?.tags) override = h.tags[(h.completed = (h.completed ?? 0) + 1) - 1];
    if (h?.tagVerb) override = `${h.tagVerb} ${/\d+$/.exec(commandTagOf(frame))?.[0] ?? '0'}`;
    const tag = override ?? commandTagOf(frame);
    const check = this.rules.onCommandComplete;
    if (check && h) {
      const ctx: SqlContext = { protocol: h.k === K.Simple ? 'simple' : 'extended', txStatus: this.txStatus, executeChecked: this.executeChecked };
      if (h.writesRows !== undefined) ctx.writesRows = h.writesRows;
      const err = check.call(this.rules, tag, ctx);
      if (err) {
        this.emit(errorResponse(err));
        if (h.k === K.Simple) h.ccFailed = true;
        else {
          this.ccFailedBatch = true;
          this.skipUntilSync = true;
        }
        return;
      }
    }
    this.emit(override !== undefined ? commandComplete(tag) : frame);
  }

  private onError(frame: Buffer, h: Pending | undefined): void {
    const extended = h !== undefined && h.k !== K.Simple && h.k !== K.Func;
    if (extended) {
      this.shift();
      this.dropUntilSync();
    }
    if (h?.refusal) {
      this.emit(errorResponse(h.refusal));
      h.refusal = undefined;
      return;
    }
    const fields = errorFields(frame);
    let code = fields.get('C') ?? '';
    // A lock timeout PostgreSQL reported as a cancel (see cancel-requests.ts): not the client's.
    if (code === '57014' && this.ctx.occ && !cancelRequestedRecently(this.pid)) code = '55P03';
    if (!CONFLICT_CODES.has(code)) {
      this.emit(frame);
      return;
    }
    // A conflict inside a transaction block: DSQL never waits and never fails the statement; it
    // fails the COMMIT. Remember the transaction is doomed, reset the upstream transaction so
    // later statements keep working, and answer the statement plausibly. Only when nothing else
    // is pipelined behind it; otherwise (and in autocommit) the conflict surfaces at once.
    const sql = h?.sql ?? '';
    // Schema locks: DDL, or a plain read that waited (only DDL takes locks that block reads).
    const schema = DDL_RE.test(sql) || (READ_RE.test(sql) && !FOR_LOCK_RE.test(sql));
    const conflict = schema ? OC001 : OC000;
    const inBlock = this.txStatus === 'T' && h !== undefined && !h.wrapped;
    const alone = extended ? this.queue.length - this.head === 1 : !this.hasPendingBeyondHead();
    // A read has no plausible answer without its rows: it fails at once, as on DSQL.
    if (inBlock && alone && !(schema && READ_RE.test(sql))) {
      if (code === '55P03' && h.savepointed && h.deferral && !schema) {
        // Another live transaction holds the row: who wins is decided at COMMIT (see occ.ts).
        if (!this.doomed) {
          this.deferred.push(h.deferral);
          this.lookUpHolders(fields.get('W'));
        }
        this.occRollback = 'ROLLBACK TO SAVEPOINT dsql_local_s';
      } else {
        // Someone committed a conflicting change first (40001), or no savepoint to go back to.
        this.doomed = true;
        this.doomedError = conflict;
        this.occRollback = h.savepointed && !schema ? RELEASE_LOCKS : RESTART;
        if (this.occRollback === RESTART) this.txSavepointSent = false;
      }
      if (h.k === K.Simple) h.occ = true;
      else {
        this.occBatch = true;
        // A statement whose rows are its answer is answered by a SELECT once the transaction is
        // reset (see `Replayable`); anything else gets its plausible tag now.
        const replay = h.replay && replayOf(h.replay);
        if (replay) this.occReplay = { ...replay, paramTypes: h.replay!.paramTypes, bindTail: h.replay!.bindTail };
        else this.emit(commandComplete(plausibleTag(h.sql ?? '')));
      }
      return;
    }
    this.ctx.stats.occConflicts++;
    fields.set('C', conflict.code);
    fields.set('M', conflict.message);
    fields.delete('D');
    fields.delete('H');
    this.emit(errorFromFields(fields));
  }

  private onReady(frame: Buffer): void {
    let p: Pending | undefined;
    while ((p = this.shift())) if (p.k === K.Simple || p.k === K.Sync || p.k === K.Func) break;
    this.skipUntilSync = false;
    const status = String.fromCharCode(frame[5]!) as TxStatus;

    if (p?.rollbackAtSync) {
      this.internal('ROLLBACK', () => this.ready('I', readyForQuery('I')));
      return;
    }
    if (p?.occ || this.occBatch) {
      const replay = p?.occ ? p.sql : undefined;
      const described = p?.described === true;
      const replayExtended = this.occReplay;
      this.occBatch = false;
      this.occReplay = undefined;
      this.internal(this.occRollback, () => {
        const lookup = this.lookupBeforeAnswer;
        this.lookupBeforeAnswer = undefined;
        if (lookup) {
          void lookup.then(() => {
            if (this.closed) return;
            answer();
            this.flushClient();
          });
        } else answer();
      });
      const answer = (): void => {
        if (replayExtended) {
          this.replayExtended(replayExtended);
          return;
        }
        // Rows as the snapshot sees them, without waiting: a locking read without its lock
        // clause; an UPDATE / DELETE … RETURNING as the SELECT of the rows it would return.
        const rows =
          replay === undefined ? undefined : READ_RE.test(replay) && FOR_LOCK_RE.test(replay) ? replayOf({ kind: 'locking-read', sent: replay }) : WRITE_RE.test(replay) ? replayOf({ kind: 'returning', sent: replay }) : undefined;
        if (rows) {
          this.push({ k: K.Simple, skipDescription: described, tagVerb: rows.tagVerb });
          this.upstream.write(serialize.query(rows.sql));
          return;
        }
        if (replay !== undefined) this.emit(commandComplete(plausibleTag(replay)));
        this.ready('T', readyForQuery('T'));
      };
      return;
    }
    if (this.ccFailedBatch || p?.ccFailed) {
      this.ccFailedBatch = false;
      if (p?.wrapped) {
        this.internal('ROLLBACK', () => this.ready('I', readyForQuery('I')));
        return;
      }
      if (status === 'T') {
        this.internal(FAILING_SQL, () => this.ready('E', readyForQuery('E')));
        return;
      }
    }
    if (p?.wrapped) {
      this.internal(status === 'E' ? 'ROLLBACK' : 'COMMIT', (_s, err) => {
        if (status !== 'E' && !err) this.noteCommitted(this.serial);
        // Nothing was committed: the client gets the error instead of the statement's completion.
        this.unstash(!err);
        if (err) this.emit(errorFromFields(translateConflict(err, this.ctx.stats)));
        this.ready('I', readyForQuery('I'));
      });
      return;
    }
    this.ready(status, frame);
  }

  /**
   * Answers an extended-protocol statement that met a conflict with its rows (see `Replayable`),
   * once the transaction is back at the savepoint before it: a statement and portal of the proxy's own (the client's
   * are untouched), the client's parameters and result formats, no Describe (its RowDescription
   * was relayed already if it asked). Its rows, CommandComplete and the batch's ReadyForQuery
   * reach the client as the answer to the original Execute.
   */
  private replayExtended(r: NonNullable<ProxySession['occReplay']>): void {
    const name = 'dsql_local_replay';
    this.push({ k: K.Parse, hidden: true });
    this.push({ k: K.Bind, hidden: true });
    this.push({ k: K.Execute, tagVerb: r.tagVerb });
    this.push({ k: K.Close, hidden: true });
    this.push({ k: K.Close, hidden: true });
    this.push({ k: K.Sync });
    this.upstream.write(
      Buffer.concat([
        message('P', cstring(name), cstring(r.sql), r.paramTypes),
        message('B', cstring(name), cstring(name), r.bindTail),
        serialize.execute({ portal: name }),
        // The transaction goes on: its portal would outlive the statement otherwise.
        serialize.close({ type: 'P', name }),
        serialize.close({ type: 'S', name }),
        serialize.sync(),
      ]),
    );
  }

  private ready(status: TxStatus, frame: Buffer): void {
    this.unstash(true);
    if (status !== 'I' && this.txStatus === 'I') this.txStart = this.requestStart || Date.now();
    if (status === 'I') {
      this.txStart = 0;
      this.doomed = false;
      this.doomedError = OC000;
      this.committing = false;
      this.commitCleared = false;
      this.releaseWhenIdle = false;
      if (this.deferred.length) this.deferred = [];
      if (this.holders.length) this.holders = [];
      if (this.holderLookups.length) this.holderLookups = [];
    }
    this.txStatus = status;
    // With nothing sent after it, this answer is the state the next statement runs in.
    const pipelined = this.head < this.queue.length;
    // Doomed by the arbiter while busy: free the locks now that upstream is idle.
    if (this.releaseWhenIdle && !pipelined && !this.arbitrating) this.releaseLocks();
    if (!pipelined) {
      this.sendStatus = status;
      // Upstream is idle: whatever the proxy had to finish first is done.
      this.holdNext = false;
    }
    this.rules.onReadyForQuery?.(status, pipelined);
    this.emit(frame);
    if (this.held && !pipelined && !this.arbitrating) this.release();
    if (this.closeWhenIdle && this.isIdle()) {
      this.flushClient();
      this.closeForAge();
    }
  }

  /** Handles the client frames held back (see `held`), now that upstream is idle. */
  private release(): void {
    const frames = this.held!;
    this.held = undefined;
    this.requestStart = Date.now();
    for (const f of frames) {
      if (this.closed) return;
      this.onClientFrame(f[0]!, f);
    }
    this.flushUpstream();
    if (!this.held) this.client.resume();
  }
}

/** A `SELECT … FOR UPDATE` / `FOR KEY SHARE` (takes row locks like a write). */
function isLockingRead(sql: string): boolean {
  return READ_RE.test(sql) && FOR_LOCK_RE.test(sql);
}

/**
 * One buffer for a write. Frames relayed unchanged are adjacent slices of the chunk they came
 * in, so the common case is a single view of that chunk, without copying.
 */
function joined(parts: Buffer[]): Buffer {
  if (parts.length === 1) return parts[0]!;
  const first = parts[0]!;
  let end = first.byteOffset + first.length;
  let total = first.length;
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.buffer !== first.buffer || p.byteOffset !== end) return Buffer.concat(parts);
    end += p.length;
    total += p.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, total);
}

/** Rewrites a conflict error to DSQL's text; counts it. */
function translateConflict(fields: Map<string, string>, stats: DsqlLocalStats): Map<string, string> {
  if (CONFLICT_CODES.has(fields.get('C') ?? '')) {
    stats.occConflicts++;
    fields.set('C', OC000.code);
    fields.set('M', OC000.message);
    fields.delete('D');
  }
  return fields;
}

/** The tag a statement would most plausibly have completed with (used for a doomed statement). */
function plausibleTag(sql: string): string {
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
