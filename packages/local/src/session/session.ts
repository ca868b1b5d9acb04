/**
 * One authenticated session, proxied until either side closes. The proxy forwards bytes both
 * ways, frames them, and acts on the few messages that matter to DSQL emulation — SQL texts
 * (rules, faults, COMMIT), CommandComplete (tag overrides, row caps), ErrorResponse (OCC) and
 * ReadyForQuery (transaction state, connection age).
 *
 * This class holds the session's state; what is done with it lives beside it, one concern a file:
 * - framing.ts          bytes in and out: frame readers, write buffers, the proxy's own statements
 * - requests.ts         the FIFO matching upstream's answers to the requests sent (and its types)
 * - client-frames.ts    client → upstream: what each message does
 * - upstream-frames.ts  upstream → client: each answer, ReadyForQuery and what follows it
 * - rules.ts            the SQL rules (../sql) applied to each statement and CommandComplete
 * - limits.ts           faults, transaction age, connection age (row caps are the rules')
 * - occ-translation.ts  upstream lock conflicts → DSQL's OC000 / OC001, plausible answers, replays
 * - occ-commit.ts       statements deferred to COMMIT and its arbitration (see occ-arbiter.ts)
 * - sql-text.ts         what the session tells from a statement's text without parsing it
 *
 * Its fields are shared by those files (the class is internal to the package: not exported).
 */
import type net from 'node:net';
import { serialize } from 'pg-protocol';
import type { FaultBook } from '../admission/faults.js';
import type { SqlError, SqlSession, TxStatus } from '../sql/hook.js';
import { errorResponse } from '../wire/backend.js';
import type { DsqlLocalStats } from '../stats.js';
import { FrameReader } from '../wire/frames.js';
import { flushUpstream, onClientData, onUpstreamData } from './framing.js';
import { onAgeDeadline } from './limits.js';
import type { Holder, OccArbiter, OccParticipant } from './occ-arbiter.js';
import { RELEASE_LOCKS, hiddenRun, OccState, releaseLocks } from './occ-commit.js';
import { OC000, OC001 } from './occ-translation.js';
import { allAnswered, NO_BIND_VALUES, NO_PARAM_TYPES, type Pending, type PortalInfo, type StatementInfo } from './requests.js';
import type { ClientSocket } from '../accept/accept.js';

/** Limits and services a session needs from its server. */
export interface ProxyContext {
  faults: FaultBook;
  stats: DsqlLocalStats;
  maxTransactionAgeMs: number;
  /** How long a write or locking read in a transaction block waits for a lock before it is set aside. */
  lockTimeoutMs: number;
  /** When the session must close (ms since epoch), at the first idle moment after it. */
  closeAt: number;
  /** The server's OCC arbiter; without it lock waits doom the transaction that met them. */
  occ?: OccArbiter;
  /** Upstream backend process id (from BackendKeyData). */
  pid?: number;
}

/** Runs one session until either side closes. */
export class ProxySession implements OccParticipant {
  // ---- framing (framing.ts, requests.ts) ----
  /** PostgreSQL's own limit on a client message (PQ_LARGE_MESSAGE_LIMIT): nothing longer is buffered. */
  readonly fromClient = new FrameReader(0x3fffffff);
  readonly fromUpstream = new FrameReader();
  /** Requests sent upstream; those from `head` on are not fully answered yet (see requests.ts). */
  readonly queue: Pending[] = [];
  head = 0;
  toUpstream: Buffer[] = [];
  toClient: Buffer[] = [];
  /**
   * Answers held back from the client: from the CommandComplete of a statement the proxy wrapped
   * in a transaction of its own until that transaction's COMMIT is done, so no client learns of
   * a completion (COPY FROM STDIN resolves on it) before other connections can see its rows.
   */
  stash: Buffer[] | undefined;
  /**
   * Client frames held back until the request before them is fully answered: set after a
   * request the proxy must finish upstream itself before anything else runs there (COMMIT or
   * ROLLBACK of a transaction it opened around an autocommit write; ROLLBACK after a COMMIT
   * failed in place).
   */
  held: Buffer[] | undefined;
  /** The next client frame starts `held`. */
  holdNext = false;
  /** Named statements the proxy prepared upstream for itself. */
  readonly hiddenPrepared = new Set<string>();
  closed = false;
  /** Upstream is rolling back and closing for a dropped COMMIT: nothing more is relayed. */
  dropping = false;

  // ---- transaction and batch state (client-frames.ts, upstream-frames.ts, rules.ts) ----
  /** Status from the last ReadyForQuery relayed to the client. */
  txStatus: TxStatus = 'I';
  /**
   * The status once everything sent upstream so far has run, as far as can be told when sending
   * (clients pipeline): what the rules are told a statement runs in (see `SqlContext.txStatus`).
   */
  sendStatus: TxStatus = 'I';
  readonly statements = new Map<string, StatementInfo>();
  readonly portals = new Map<string, PortalInfo>();
  /** The rules refused a CommandComplete of the current extended batch (a row cap). */
  ccFailedBatch = false;
  /** Upstream's answers up to the batch's ReadyForQuery are not relayed (after that refusal). */
  skipUntilSync = false;
  /** The proxy opened a transaction around the current extended-protocol batch. */
  batchWrapped = false;
  /**
   * The client sent an extended-protocol message since its last Sync: a simple query of the
   * proxy's own would drop the client's unnamed statement and portal between its Parse and Bind.
   */
  batchOpen = false;
  /** An Execute was sent since the last Sync. */
  batchExecuted = false;
  /** The proxy failed a message of this batch: PostgreSQL skips the rest of it, up to Sync. */
  batchRefused = false;
  /** A re-executed COMMIT was failed in place: roll back when its batch is answered. */
  rollbackAtSync = false;
  /** Syncs sent so far. */
  batchNo = 0;
  /**
   * The rules check every execution (`onExecute`), so Parse only checks the text: a named
   * prepared statement is parsed once and may run in many transactions.
   */
  readonly executeChecked: boolean;

  // ---- limits (limits.ts) ----
  /** When the open transaction started (ms since epoch; 0 outside one): its age counts from here. */
  txStart = 0;
  /** When the client's current request arrived with nothing pending: a transaction it opens started then. */
  requestStart = 0;
  /** Past the connection age while busy: closed at the next idle moment. */
  closeWhenIdle = false;
  ageTimer: NodeJS.Timeout | undefined;

  // ---- optimistic concurrency (occ-commit.ts, occ-translation.ts; see occ-arbiter.ts) ----
  readonly pid: number;
  /** Number of the transaction being sent upstream (grows when one opens). */
  serial = 0;
  /** Its COMMIT (or an autocommit write or DDL statement) is under way (see `OccParticipant.committing`). */
  committing = false;
  /** That is an autocommit DDL statement (see occ-commit.ts `startAutocommitLocking`). */
  changingSchema = false;
  /** This transaction's side of first-committer-wins (see occ-commit.ts). */
  readonly occState = new OccState();
  /** Resolves when the session closes: an arbitration in progress stops waiting for upstream. */
  onClosed: () => void = () => {};
  readonly whenClosed = new Promise<void>((resolve) => (this.onClosed = resolve));

  constructor(
    readonly client: ClientSocket,
    readonly upstream: net.Socket,
    readonly rules: SqlSession,
    readonly ctx: ProxyContext,
    readonly onClose: () => void,
  ) {
    this.executeChecked = typeof rules.onExecute === 'function';
    this.pid = ctx.pid ?? 0;
  }

  /** OccParticipant: a replay at COMMIT or an autocommit write is running upstream. */
  get waiting(): boolean {
    return this.committing && !this.closed && !allAnswered(this);
  }

  /** OccParticipant: this transaction is in the way of one that commits first (see occ-arbiter.ts). */
  doom(by: 'data' | 'schema' = 'data'): void {
    if (this.committing || this.closed || this.sendStatus === 'I') return;
    this.occState.doomed = true;
    this.occState.doomedError = by === 'schema' ? OC001 : OC000;
    this.occState.releaseWhenIdle = true;
    // Upstream idle (frames held back for an arbitration included): free the locks now — unless
    // the client is inside an extended batch (Parse and Describe answered, Bind still to come, as
    // Postgres.js does): then at its ReadyForQuery (see ready()).
    if (allAnswered(this) && !this.batchOpen) releaseLocks(this);
    // A COMMIT waiting for its turn, sent in the middle of an extended batch (Parse and Bind
    // went ahead): nothing runs upstream, but the batch is open — free them within it.
    else if (this.occState.arbitrating && this.occState.txSavepointSent) {
      this.occState.releaseWhenIdle = false;
      void hiddenRun(this, { sql: RELEASE_LOCKS, paramTypes: NO_PARAM_TYPES, bindTail: NO_BIND_VALUES });
      flushUpstream(this);
    }
  }

  committed(serial: number): boolean {
    return this.occState.committedSerials.includes(serial);
  }

  noteHolder(holder: Holder): void {
    if (!this.occState.holders.some((h) => h.session === holder.session && h.serial === holder.serial)) this.occState.holders.push(holder);
  }

  /** Starts forwarding; `rest` is anything upstream sent after its first ReadyForQuery. */
  start(): void {
    const { client, upstream } = this;
    client.on('data', (chunk: Buffer) => onClientData(this, chunk));
    upstream.on('data', (chunk: Buffer) => onUpstreamData(this, chunk));
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
      this.ageTimer = setTimeout(() => onAgeDeadline(this), Math.max(0, delay));
      this.ageTimer.unref();
    }
  }

  /**
   * Ends the session for an endpoint that stops serving (see `ConnectionContext.unavailable`).
   * Nothing the client sends from now on reaches upstream, so an idle session is told `err` (a
   * FATAL the client reads first: what it sends next was not run). A session with a request
   * under way is closed without an answer: that request may have run (a COMMIT may have
   * committed), and an error would tell the client it had not.
   */
  fail(err: SqlError): void {
    if (this.closed) return;
    this.dropping = true;
    this.client.pause();
    this.upstream.pause();
    if (!allAnswered(this)) return this.close();
    this.client.end(errorResponse({ ...err, severity: 'FATAL' }), () => this.close());
    setTimeout(() => this.close(), 1000).unref();
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
}
