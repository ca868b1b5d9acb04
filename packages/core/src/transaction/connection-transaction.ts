/**
 * BEGIN … COMMIT / ROLLBACK on one connection, written once for every adapter whose driver does
 * not run them itself: {@link runTransaction} drives it for node-postgres, Kysely's driver methods
 * (`beginTransaction` / `commitTransaction` / `rollbackTransaction`) one step at a time. The
 * statements, the COMMIT outcome (commit-outcome.ts) and whether the connection may be reused
 * afterwards are decided here; an adapter only says how to send a statement.
 */
import { assertCommitted, commitFailure, mustDiscardAfter, sendRollback } from './commit-outcome.js';

/**
 * A transaction's access mode, as drivers name it.
 *
 * @example
 * const mode: TransactionAccessMode = 'read only';
 */
export type TransactionAccessMode = 'read only' | 'read write';

/**
 * The statements of a transaction on a connection `C` — a few methods, no driver import (the
 * shape of Kysely's `PostgresPoolClient`). {@link transactionStatements} builds them from a
 * function that sends one statement.
 *
 * @example
 * const statements: TransactionStatements<pg.ClientBase> = transactionStatements(async (c, sql) => (await c.query(sql)).command);
 */
export interface TransactionStatements<C> {
  /** Sends `BEGIN` (DSQL: repeatable read is the only level; do not send `SET TRANSACTION`). */
  begin(conn: C, accessMode?: TransactionAccessMode): Promise<void>;
  /** Sends `COMMIT`; may return the command tag (`'COMMIT'` or `'ROLLBACK'`). */
  commit(conn: C): Promise<string | void>;
  /** Sends `ROLLBACK`. */
  rollback(conn: C): Promise<void>;
}

/**
 * The statement that opens a transaction on DSQL: `begin` (already REPEATABLE READ, DSQL's only
 * level), or `start transaction read only|read write` — DSQL refuses `SET TRANSACTION`, so an
 * access mode rides on the opening statement itself.
 *
 * @example
 * beginStatement('read only') // 'start transaction read only'
 */
export function beginStatement(accessMode?: TransactionAccessMode): string {
  return accessMode === undefined ? 'begin' : `start transaction ${accessMode}`;
}

/**
 * {@link TransactionStatements} over `send`, which runs one statement on a connection and
 * resolves with its command tag when the driver reports one.
 *
 * @example
 * const statements = transactionStatements((c: DsqlConnection, sql) => c.run(sql).then((r) => r.command));
 */
export function transactionStatements<C>(send: (conn: C, sql: string) => Promise<string | undefined | void>): TransactionStatements<C> {
  return {
    begin: async (conn, accessMode) => void (await send(conn, beginStatement(accessMode))),
    commit: async (conn) => (await send(conn, 'commit')) ?? undefined,
    rollback: async (conn) => void (await send(conn, 'rollback')),
  };
}

/**
 * The transaction state of one connection, across the transactions it runs one after another:
 * {@link begin}, then {@link commit} or {@link rollback}; {@link discard} says whether the
 * connection must be closed instead of reused.
 *
 * Contract (commit-outcome.ts): a COMMIT the server answered with an error is thrown as it is; a
 * COMMIT whose answer was lost is a `CommitOutcomeUnknownError` and the connection is discarded; a
 * COMMIT answered `ROLLBACK` is a `DsqlTransactionRolledBackError`. A connection reported lost
 * ({@link connectionLost}) before COMMIT: COMMIT is not sent, the loss is the answer (nothing
 * was committed). ROLLBACK never throws (the error that caused it is the caller's); a failed
 * ROLLBACK discards the connection. After a COMMIT attempt there is nothing left to roll back.
 *
 * @example
 * const tx = new ConnectionTransaction(statements, client);
 * try { await tx.begin(); await work(client); await tx.commit(); }
 * catch (err) { await tx.rollback(); throw err; }
 * finally { client.release(tx.discard); }
 */
export class ConnectionTransaction<C> {
  readonly #statements: TransactionStatements<C>;
  readonly #conn: C;
  #state: 'none' | 'open' | 'ended' = 'none';
  #discard = false;
  #lost: { err: unknown } | undefined;

  constructor(statements: TransactionStatements<C>, conn: C) {
    this.#statements = statements;
    this.#conn = conn;
  }

  /** True between a successful {@link begin} and the next {@link commit} or {@link rollback}. */
  get open(): boolean {
    return this.#state === 'open';
  }

  /** True when the connection must be closed, not reused: it was lost, its ROLLBACK failed, or its COMMIT answer was lost. */
  get discard(): boolean {
    return this.#discard;
  }

  /** The error the connection was lost with, once {@link connectionLost} was called. */
  get lostWith(): unknown {
    return this.#lost?.err;
  }

  /** Records that a statement on the connection failed because the connection was lost: it is discarded. */
  connectionLost(err: unknown): void {
    this.#lost ??= { err };
    this.#discard = true;
  }

  /** Sends the opening statement ({@link beginStatement}). */
  async begin(accessMode?: TransactionAccessMode): Promise<void> {
    await this.#statements.begin(this.#conn, accessMode);
    this.#state = 'open';
  }

  /** Sends COMMIT and applies the module's contract to its outcome. */
  async commit(): Promise<void> {
    this.#state = 'ended';
    // Lost before COMMIT was sent (an error swallowed in the callback): nothing was committed.
    if (this.#lost !== undefined) throw this.#lost.err;
    let tag: string | void;
    try {
      tag = await this.#statements.commit(this.#conn);
    } catch (err) {
      const failure = commitFailure(err);
      if (mustDiscardAfter(failure)) this.#discard = true;
      throw failure;
    }
    assertCommitted(tag);
  }

  /** Sends ROLLBACK unless COMMIT was attempted or the connection is discarded; never throws. */
  async rollback(): Promise<void> {
    const state = this.#state;
    this.#state = 'none';
    if (state === 'ended' || this.#discard) return;
    // A failed ROLLBACK leaves the connection in an unknown state: never hand it out again.
    if (await sendRollback(() => this.#statements.rollback(this.#conn))) this.#discard = true;
  }
}
