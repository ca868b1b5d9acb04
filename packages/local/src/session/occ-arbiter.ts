/**
 * Optimistic concurrency as DSQL does it: no statement waits for another transaction and the
 * first transaction to COMMIT wins. PostgreSQL underneath decides conflicts with row locks (the
 * first *writer* wins), so the proxy turns each lock wait into a decision taken at COMMIT:
 *
 * - Every client transaction runs REPEATABLE READ upstream. Before each write (or locking read)
 *   in a block the proxy takes a savepoint, the first one after setting a ~1 ms `lock_timeout`
 *   for the rest of the transaction (see occ-commit.ts `savepoint`); a statement that meets
 *   another live transaction's lock times out, is rolled back to its savepoint and *deferred*:
 *   the client gets a plausible answer (see occ-translation.ts), the statement is replayed at COMMIT.
 * - At COMMIT the deferred statements are replayed, now allowed to wait. This arbiter watches
 *   what they wait for (`pg_blocking_pids` on a side connection of its own): a holder that is
 *   committing is waited for (it committed first; PostgreSQL's REPEATABLE READ then fails the
 *   replay with 40001, or the proxy fails it when the holder only locked the row); a holder that
 *   is not committing loses — it is doomed (its COMMIT will fail with OC000) and rolls back to
 *   the savepoint taken before its first write, which releases its locks and keeps its snapshot.
 * - A holder identified when the statement was deferred (the row version's locker) that commits
 *   before the deferring transaction makes that transaction lose too: PostgreSQL does not fail a
 *   write after a committed `FOR UPDATE` / `FOR KEY SHARE`, DSQL does.
 *
 * Why not a write set per transaction, validated at COMMIT: PostgreSQL takes its row locks
 * whatever the proxy tracks, so the waits have to be resolved anyway, and they name exactly the
 * rows that conflict (foreign-key checks included) without parsing any statement.
 */
import type { UpstreamTarget } from '../upstream/connect.js';
import { SideConnection } from '../upstream/side-connection.js';

/** A client session as the arbiter sees it (the proxy's ProxySession). */
export interface OccParticipant {
  /** Upstream backend process id. */
  readonly pid: number;
  /** Number of the session's current (or last) transaction; grows by one per transaction. */
  readonly serial: number;
  /** Its COMMIT (or an autocommit write or DDL statement) is under way: whoever waits for it waits. */
  readonly committing: boolean;
  /** What is under way is an autocommit DDL statement: whoever it dooms loses to a schema change. */
  readonly changingSchema: boolean;
  /** The arbiter found this session in the way of one that commits first: it must lose (OC001 if to a schema change). */
  doom(by?: 'data' | 'schema'): void;
  /** Whether the session's transaction `serial` committed (recent transactions only). */
  committed(serial: number): boolean;
  /** Another session's transaction held a lock this one waited for (see `Holder`). */
  noteHolder(holder: Holder): void;
  /** Statements replayed at COMMIT are still running (the arbiter keeps watching them). */
  readonly waiting: boolean;
}

/** A transaction that held a row another waited for. */
export interface Holder {
  session: OccParticipant;
  serial: number;
}

/** How long a replay or autocommit write may wait before the arbiter looks at what it waits for. */
const FIRST_LOOK_MS = 1;
/** Then how often it looks again while anything is still waiting. */
const LOOK_EVERY_MS = 2;

/**
 * One per server: knows every session by its upstream backend pid and settles the lock waits of
 * committing sessions.
 *
 * @example
 * const arbiter = new OccArbiter(target);
 * arbiter.register(session);
 * arbiter.watch(session); // while its COMMIT replays deferred statements
 */
export class OccArbiter {
  private readonly byPid = new Map<number, OccParticipant>();
  private readonly watched = new Set<OccParticipant>();
  private side: SideConnection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private looking = false;
  private closed = false;
  /** Arbitrated COMMITs run one at a time (see `turn`); the ones waiting, in arrival order. */
  private turnHeld = false;
  private readonly turnQueue: (() => void)[] = [];

  constructor(private readonly target: UpstreamTarget) {}

  register(p: OccParticipant): void {
    this.byPid.set(p.pid, p);
  }

  unregister(p: OccParticipant): void {
    if (this.byPid.get(p.pid) === p) this.byPid.delete(p.pid);
    this.watched.delete(p);
  }

  /**
   * Waits for this server's turn to settle a COMMIT that must replay statements; call the
   * returned function when done. One at a time: two COMMITs replaying at once could each wait
   * for the other's locks (PostgreSQL would break the tie only after its 1 s deadlock check).
   * A session waiting for its turn is not committing yet: one that commits before it may doom
   * it, which is first committer wins in arrival order.
   */
  async turn(): Promise<() => void> {
    if (this.turnHeld) await new Promise<void>((resolve) => this.turnQueue.push(resolve));
    this.turnHeld = true;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.turnQueue.shift();
      if (next) next();
      else this.turnHeld = false;
    };
  }

  /** Starts settling what `p`'s statements wait for, until `p.waiting` turns false. */
  watch(p: OccParticipant): void {
    if (this.closed) return;
    this.watched.add(p);
    this.schedule(FIRST_LOOK_MS);
  }

  /**
   * The sessions whose transactions hold a lock on the row version `tid` of `relation` (as a
   * lock-timeout error's context names them), with their current transaction numbers. Empty when
   * they cannot be told (the row is gone, several share it, the name does not resolve).
   */
  async holdersOf(relation: string, tid: string): Promise<Holder[]> {
    if (this.closed || !/^\(\d+,\d+\)$/.test(tid)) return [];
    const name = `'${relation.replace(/'/g, "''")}'`;
    // A row version's xmax is its locker's or updater's (sub)transaction id; every transaction
    // id is held as an exclusive lock by its backend while it runs, which names the backend.
    // The error names the table without its schema: every table of that name is looked at
    // (query_to_xml runs the per-table query within this one statement; no row: NULL).
    const sql =
      `SELECT l.pid FROM pg_catalog.pg_locks l WHERE l.locktype = 'transactionid' AND l.granted AND l.transactionid::text IN (` +
      `SELECT (pg_catalog.xpath('/row/xmax/text()', NULLIF(pg_catalog.query_to_xml(pg_catalog.format('SELECT xmax FROM ONLY %s WHERE ctid = %L::tid', c.oid::regclass, '${tid}'), false, true, '')::text, '')::xml))[1]::text ` +
      `FROM pg_catalog.pg_class c WHERE c.relname = ${name} AND c.relkind IN ('r', 'p'))`;
    let rows: string[][];
    try {
      rows = await this.query(sql);
    } catch {
      return [];
    }
    const holders: Holder[] = [];
    for (const [pid] of rows) {
      const session = this.byPid.get(Number(pid));
      if (session) holders.push({ session, serial: session.serial });
    }
    return holders;
  }

  /** Closes the side connection; nothing is watched afterwards. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const next of this.turnQueue.splice(0)) next();
    this.watched.clear();
    this.side?.close();
    this.side = undefined;
  }

  private schedule(ms: number): void {
    if (this.timer || this.looking || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.look();
    }, ms);
    this.timer.unref();
  }

  private async look(): Promise<void> {
    for (const p of this.watched) if (!p.waiting) this.watched.delete(p);
    if (this.watched.size === 0 || this.closed) return;
    this.looking = true;
    try {
      const pids = [...this.watched].map((p) => p.pid);
      const rows = await this.query(`SELECT w, pg_catalog.pg_blocking_pids(w) FROM unnest(ARRAY[${pids.join(',')}]::int[]) AS w`);
      for (const [w, blockers] of rows) {
        const waiter = this.byPid.get(Number(w));
        if (!waiter?.waiting) continue;
        for (const b of parseIntArray(blockers)) {
          const holder = this.byPid.get(b);
          if (!holder || holder === waiter) continue;
          // A committing holder got there first: wait for its outcome, and lose if it commits.
          if (holder.committing) waiter.noteHolder({ session: holder, serial: holder.serial });
          else holder.doom(waiter.changingSchema ? 'schema' : 'data');
        }
      }
    } catch {
      // The side connection failed: the next look opens a new one.
    } finally {
      this.looking = false;
    }
    for (const p of this.watched) if (!p.waiting) this.watched.delete(p);
    if (this.watched.size > 0) this.schedule(LOOK_EVERY_MS);
  }

  private query(sql: string): Promise<string[][]> {
    if (!this.side || this.side.broken) this.side = new SideConnection(this.target);
    return this.side.query(sql);
  }
}

/** `{1,2}` → [1, 2]. */
function parseIntArray(text: string | undefined): number[] {
  if (!text || text.length < 3) return [];
  return text.slice(1, -1).split(',').map(Number);
}
