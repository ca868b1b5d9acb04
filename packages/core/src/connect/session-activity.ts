import type { StatementWatch } from '../failover/silent-statements.js';

/**
 * Whether a session is idle, read from the wire: used to close a connection to a non-preferred
 * endpoint after failback (`endpointProbe.drainAfterFailbackMs`) only between uses, never in the
 * middle of a query or a transaction. And, given a failover router's {@link StatementWatch}, how
 * many requests await their answer (`endpointProbe.suspectAfterMs`: one left unanswered has its
 * endpoint checked at once).
 *
 * Why on the wire: Postgres.js says nothing public about a connection's state (whether it is
 * running a query, in a transaction, leased), and its connection objects' fields are private.
 * But `@dsql/postgres`'s `dsql()` owns the socket each connection talks through, and the protocol
 * says exactly when a session waits: every Sync ('S') or simple Query ('Q') the client sends is
 * answered by one ReadyForQuery ('Z'), whose status byte is 'I' outside a transaction, 'T' in
 * one and 'E' in a failed one. A session is idle when every such request was answered, nothing
 * was sent since without a Sync (Postgres.js 4 can send Parse/Describe + Flush and the Sync
 * later), and the last status is 'I'.
 *
 * Only the 5-byte framing (type + length) of each message is read; nothing is decoded or copied
 * beyond a header split across chunks.
 *
 * For the statement watch a request is a Sync or a simple Query (started when sent, answered by
 * its ReadyForQuery), the same count as for idleness. Not counted: a batch sent with Flush and no
 * Sync yet (a cursor reading rows at its holder's pace), which is waiting on the application as
 * often as on the server; the periodic health check still covers its endpoint.
 */

const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const TERMINATE = 0x58; // 'X'
/** CopyData, CopyDone, CopyFail: part of the COPY a simple Query started (answered by its ReadyForQuery). */
const COPY_MESSAGES = new Set([0x64, 0x63, 0x66]);
const READY_FOR_QUERY = 0x5a; // 'Z'
const IDLE = 0x49; // 'I'

/** Walks a stream of protocol messages (type byte + int32 length including itself + body). */
class MessageWalker {
  readonly #header = Buffer.alloc(5);
  #have = 0;
  /** Body bytes of the current message still to come. */
  #skip = 0;
  /** The current message is a ReadyForQuery whose status byte has not come yet. */
  #wantStatus = false;

  constructor(
    private readonly onMessage: (type: number) => void,
    private readonly onStatus?: (status: number) => void,
  ) {}

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        if (this.#wantStatus) {
          this.#wantStatus = false;
          this.onStatus?.(chunk[i]!);
        }
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(5 - this.#have, chunk.length - i);
      this.#header.set(chunk.subarray(i, i + n), this.#have);
      this.#have += n;
      i += n;
      if (this.#have === 5) {
        this.#have = 0;
        const type = this.#header[0]!;
        this.#skip = this.#header.readInt32BE(1) - 4;
        this.#wantStatus = type === READY_FOR_QUERY && this.#skip > 0;
        this.onMessage(type);
      }
    }
  }
}

/**
 * Follows one authenticated session's traffic (frontend messages sent, backend messages
 * received) and says whether it is idle. Starts idle: the handshake ended with ReadyForQuery 'I'.
 *
 * @example
 * const activity = new SessionActivity(session.router.watchStatements(endpoint));
 * activity.sent(bytesWritten);
 * activity.received(bytesRead);
 * if (activity.idle) socket.end();
 * socket.once('close', () => activity.closed());
 */
export class SessionActivity {
  /** The failover router's record of this session's requests, when it follows them. */
  readonly #watch: StatementWatch | undefined;
  /** Syncs and simple Queries sent, minus ReadyForQuery messages received. */
  #awaiting = 0;
  /** A message other than Sync/Query was sent after the last Sync/Query (a batch not yet synced). */
  #unsynced = false;
  #status = IDLE;
  readonly #out = new MessageWalker((type) => {
    if (type === SYNC || type === QUERY) {
      this.#awaiting++;
      this.#unsynced = false;
      this.#watch?.started();
    } else if (type !== TERMINATE && !COPY_MESSAGES.has(type)) {
      this.#unsynced = true;
    }
  });
  readonly #in = new MessageWalker(
    () => {},
    (status) => {
      this.#awaiting--;
      this.#status = status;
      this.#watch?.answered();
    },
  );

  /** @param watch the failover router's record of this session's requests (`router.watchStatements(endpoint)`), if it follows them. */
  constructor(watch?: StatementWatch) {
    this.#watch = watch;
  }

  /** The session closed: the router stops following it. */
  closed(): void {
    this.#watch?.close();
  }

  /** Bytes the driver wrote to the server. */
  sent(chunk: Uint8Array | string): void {
    this.#out.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }

  /** Bytes the server sent. */
  received(chunk: Uint8Array): void {
    this.#in.feed(chunk);
  }

  /** Nothing awaits an answer, nothing unsynced was sent, and the session is outside a transaction. */
  get idle(): boolean {
    return this.#awaiting === 0 && !this.#unsynced && this.#status === IDLE;
  }
}
