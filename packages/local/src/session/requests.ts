/**
 * The request FIFO: every request sent upstream, in order, until it is fully answered —
 * PostgreSQL answers in the order it was asked, so the head of the queue is what an answer
 * belongs to. Requests the proxy adds itself (rollback after a conflict, opening a transaction
 * around an autocommit statement) go through the same FIFO marked hidden, so their answers never
 * reach the client. Also the types the session keeps per request, statement and portal.
 */
import type { SqlError, TxStatus } from '../sql/hook.js';
import type { ProxySession } from './session.js';

/** A statement PostgreSQL rejects at parse time: used to put a transaction into the aborted state. */
export const FAILING_SQL = 'DSQL_LOCAL_ABORT';

/** Parse's parameter types of a statement of the proxy's own: none. */
export const NO_PARAM_TYPES = Buffer.from([0, 0]);
/** Bind's sections of a statement of the proxy's own: no parameters, no result formats. */
export const NO_BIND_VALUES = Buffer.from([0, 0, 0, 0, 0, 0]);

/**
 * A statement that met another transaction's lock and was rolled back to its savepoint: run again
 * at COMMIT (see occ-arbiter.ts), as an extended-protocol statement of the proxy's own.
 */
export interface Deferred {
  sql: string;
  /** Parse's parameter type section. */
  paramTypes: Buffer;
  /** Bind's sections after the names. */
  bindTail: Buffer;
}

/** What kind of request a queue entry is: the client's message types, or the proxy's own simple query. */
export const enum K {
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
export interface Pending {
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
  /** A savepoint (`dsql_local_s`) was taken right before this statement (see occ-arbiter.ts). */
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
export interface Replayable {
  kind: 'locking-read' | 'returning';
  /** The statement's text as sent upstream. */
  sent: string;
  /** Parse's parameter type section (int16 count, then OIDs), as the client sent it. */
  paramTypes: Buffer;
}

/** A replayable statement as one Execute ran it. */
export interface ReplayableExecution extends Replayable {
  /** Bind's sections after its portal and statement names: formats, values, result formats. */
  bindTail: Buffer;
}

/** What `decide` made of one SQL text. */
export interface Decided {
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
export interface StatementInfo {
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
export interface PortalInfo {
  statement: StatementInfo | undefined;
  /** A later Execute of the same portal fetches more rows of the same run (not a new execution). */
  started: boolean;
  /** For a replayable statement only: Bind's sections after the names (see `ReplayableExecution`). */
  bindTail?: Buffer;
}

/** `failureOf`'s answer when nothing applies (the statement goes on to the rules). */
export const NOTHING_MORE: Decided = {};

/** Queues a request just sent (or about to be sent) upstream. */
export function push(s: ProxySession, p: Pending): Pending {
  s.queue.push(p);
  return p;
}

/** The request the next answer from upstream belongs to. */
export function peek(s: ProxySession): Pending | undefined {
  return s.queue[s.head];
}

/** Takes the head request off the queue: it is fully answered. */
export function shift(s: ProxySession): Pending | undefined {
  const p = s.queue[s.head];
  if (p === undefined) return undefined;
  s.head++;
  if (s.head > 256 && s.head * 2 > s.queue.length) {
    s.queue.splice(0, s.head);
    s.head = 0;
  }
  return p;
}

/** After an error in the extended protocol PostgreSQL skips everything up to Sync. */
export function dropUntilSync(s: ProxySession): void {
  for (let p = peek(s); p && p.k !== K.Sync && p.k !== K.Internal; p = peek(s)) {
    // Our BEGIN statement was skipped with the rest of the batch: it does not exist.
    if (p.hidden && p.k === K.Parse) s.hiddenPrepared.delete(p.name!);
    shift(s);
  }
}

/** How many requests sent upstream are not fully answered yet. */
export function pendingCount(s: ProxySession): number {
  return s.queue.length - s.head;
}

/** Everything sent upstream has been answered: upstream is idle. */
export function allAnswered(s: ProxySession): boolean {
  return s.head === s.queue.length;
}

/** Anything was sent upstream after the head request. */
export function hasPendingBeyondHead(s: ProxySession): boolean {
  return pendingCount(s) > 1;
}
