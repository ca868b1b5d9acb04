/**
 * Fault injection: tests arm faults that fail or drop the next matching connection, query or
 * COMMIT, so adapters' error paths can be exercised against a real wire. `connect` faults are
 * applied at admission (admit.ts); `query` and `commit` faults by the session (session/limits.ts).
 */

/**
 * The event a fault applies to.
 *
 * @example
 * const on: FaultEvent = 'connect';
 */
export type FaultEvent = 'connect' | 'query' | 'commit';

/**
 * A fault to inject with `inject()`.
 *
 * @example
 * dsql.inject({ on: 'query', match: /FROM orders/, error: { code: 'XX000', message: 'server unavailable' }, times: 2 });
 * dsql.inject({ on: 'commit', drop: true }); // the COMMIT runs; the client never learns its outcome
 */
export interface Fault {
  /** `connect`: a new connection; `query`: any SQL text except COMMIT; `commit`: COMMIT / END. */
  on: FaultEvent;
  /** Answer with this error instead of the real outcome. */
  error?: { code: string; message: string };
  /**
   * Close the client socket instead. On `query` the SQL is not forwarded; on `commit` the COMMIT
   * is forwarded and the socket closes before its answer (the outcome is unknown to the client).
   * A COMMIT that would fail (a transaction doomed by an OCC conflict, or past the age limit) is
   * not forwarded: the transaction is rolled back upstream before the socket closes.
   */
  drop?: true;
  /** How many matching events to hit (default 1). */
  times?: number;
  /** Only SQL whose text contains this string or matches this RegExp. */
  match?: string | RegExp;
}

/** What the proxy does about an event. */
export type FaultAction = { kind: 'error'; error: { code: string; message: string } } | { kind: 'drop' };

interface Armed {
  fault: Fault;
  left: number;
}

/** The armed faults of one emulator. */
export class FaultBook {
  private armed: Armed[] = [];

  constructor(private readonly onHit: () => void) {}

  /** Arms a fault; validates it. */
  add(fault: Fault): void {
    if (!fault || !['connect', 'query', 'commit'].includes(fault.on)) {
      throw new TypeError(`inject: 'on' must be 'connect', 'query' or 'commit' (got ${JSON.stringify(fault?.on)})`);
    }
    if (!fault.drop && !fault.error) throw new TypeError(`inject: give 'error: { code, message }' or 'drop: true'`);
    if (fault.error && (typeof fault.error.code !== 'string' || !/^[0-9A-Z]{5}$/.test(fault.error.code))) {
      throw new TypeError(`inject: 'error.code' must be a 5-character SQLSTATE (got ${JSON.stringify(fault.error.code)})`);
    }
    if (fault.match !== undefined && fault.on === 'connect') {
      throw new TypeError(`inject: 'match' applies to SQL text, so only to 'query' and 'commit' faults`);
    }
    if (fault.match !== undefined && typeof fault.match !== 'string' && !(fault.match instanceof RegExp)) {
      throw new TypeError(`inject: 'match' must be a string or a RegExp (got ${typeof fault.match})`);
    }
    const times = fault.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new TypeError(`inject: 'times' must be a positive integer (got ${times})`);
    this.armed.push({ fault, left: times });
  }

  /** Whether any fault is armed (lets the hot path skip the lookup). */
  get empty(): boolean {
    return this.armed.length === 0;
  }

  /** Consumes the first armed fault matching the event, if any. */
  take(on: FaultEvent, sql?: string): FaultAction | undefined {
    for (let i = 0; i < this.armed.length; i++) {
      const a = this.armed[i]!;
      const { fault } = a;
      if (fault.on !== on) continue;
      if (fault.match !== undefined) {
        if (sql === undefined) continue;
        if (typeof fault.match === 'string' ? !sql.includes(fault.match) : !fault.match.test(sql)) continue;
      }
      if (--a.left <= 0) this.armed.splice(i, 1);
      this.onHit();
      return fault.drop ? { kind: 'drop' } : { kind: 'error', error: fault.error! };
    }
    return undefined;
  }
}
