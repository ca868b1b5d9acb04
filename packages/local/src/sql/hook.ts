/**
 * The seam between the wire proxy (src/proxy, src/server) and DSQL's SQL rules (src/sql).
 *
 * The proxy calls a `SqlRules` for every SQL text a client sends, in both the simple and the
 * extended protocol, before it reaches PostgreSQL, and reports what PostgreSQL answered.
 * The rules decide: forward as is, forward rewritten (e.g. `CREATE INDEX ASYNC` → a real
 * `CREATE INDEX` plus a job id row), or refuse with DSQL's exact SQLSTATE and message.
 * A refusal inside a transaction block leaves the transaction aborted (25P02 afterwards),
 * as DSQL does; outside one it aborts nothing.
 *
 * `passThroughRules` forwards everything and is what the proxy uses when no rules are given.
 */

/** An error as the emulator answers it: the fields of a PostgreSQL ErrorResponse. */
export interface SqlError {
  code: string;
  message: string;
  severity?: 'ERROR' | 'FATAL';
  detail?: string;
  hint?: string;
}

/**
 * Transaction status as ReadyForQuery reports it: idle, in a block, in a failed block.
 *
 * @example
 * const status: TxStatus = 'T';
 */
export type TxStatus = 'I' | 'T' | 'E';

/** What the proxy tells the rules about the statement it is about to forward. */
export interface SqlContext {
  protocol: 'simple' | 'extended';
  /**
   * The status the statement will run in. Clients may pipeline (Postgres.js writes every query
   * at once), so this is the last ReadyForQuery's status advanced by the requests sent since
   * and not yet answered: their BEGIN / COMMIT / ROLLBACK (`SqlDecision.transaction`), and
   * refusals inside a block ('E'). An error PostgreSQL itself raises in a pipelined block is
   * learnt only from its answer.
   */
  txStatus: TxStatus;
  /**
   * Set by a proxy that calls `onExecute` for every Execute: `onSql` for a Parse then checks only
   * the text, and the per-transaction rules are applied to each execution (a named prepared
   * statement runs many times but is parsed once).
   */
  executeChecked?: boolean;
  /**
   * `onExecute`: the first Execute since the last Sync. Outside a block it starts an implicit
   * transaction of its own (one per Sync), whatever else is still unanswered.
   */
  batchStart?: boolean;
  /**
   * `onCommandComplete`: whether the statement answered writes rows, as `onSql` said when it
   * was sent (so a `COPY … TO` is not counted as modified rows, whatever was sent after it).
   */
  writesRows?: boolean;
}

/** The rules' answer for one SQL text. */
export type SqlDecision =
  | {
      kind: 'forward';
      /** Send this text upstream instead of the client's. */
      sql?: string;
      /** Replace the CommandComplete tag upstream returns (e.g. `SELECT 1` → `CREATE INDEX`). */
      commandTag?: string;
      /**
       * For a multi-statement simple Query: the tag override for each statement's
       * CommandComplete, in order (`undefined` keeps PostgreSQL's). Takes precedence over
       * `commandTag` when present.
       */
      commandTags?: readonly (string | undefined)[];
      /**
       * The text writes rows (INSERT / UPDATE / DELETE / COPY FROM). Outside a transaction
       * block PostgreSQL commits an autocommit statement before its CommandComplete arrives, so
       * a proxy that wants `onCommandComplete` to be able to fail it (DSQL's row cap applies in
       * autocommit too) runs it inside a transaction it opens and closes itself upstream.
       */
      writesRows?: boolean;
      /**
       * How the text leaves the transaction once it ran: `opens` a block (a BEGIN not closed
       * later in the text), `closes` it (COMMIT / ROLLBACK last), or leaves it as it was
       * (undefined). The proxy follows it to tell the rules the status of pipelined statements.
       */
      transaction?: 'opens' | 'closes';
    }
  | { kind: 'refuse'; error: SqlError };

/** Per-connection rules state; one is created for every client session. */
export interface SqlSession {
  /** Called for every SQL text: a simple Query's whole string, or a Parse message's query. */
  onSql(sql: string, ctx: SqlContext): SqlDecision;
  /**
   * Called with each CommandComplete tag PostgreSQL returned (after any override) while the
   * statement's transaction is still open; an error returned here replaces the tag and
   * aborts the transaction (row caps).
   */
  onCommandComplete?(tag: string, ctx: SqlContext): SqlError | undefined;
  /**
   * Called before each execution in the extended protocol (the first Execute of a bound portal)
   * with the executed statement's text (as its Parse gave it); an error returned here is
   * answered instead of executing, and aborts the transaction like a refusal. When a session
   * has it, the proxy sets `executeChecked` in every context. The proxy leaves out executions
   * PostgreSQL will skip (after a refusal in the same batch).
   */
  onExecute?(sql: string, ctx: SqlContext): SqlError | undefined;
  /**
   * Called with every ReadyForQuery status, so per-transaction state can be reset; `pipelined`:
   * the client has sent more requests, still unanswered (their statements were already given to
   * `onSql` / `onExecute`, so state they built must survive this ReadyForQuery).
   */
  onReadyForQuery?(status: TxStatus, pipelined?: boolean): void;
}

/** DSQL's SQL rules as the proxy consumes them. */
export interface SqlRules {
  /**
   * The `server_version` the endpoint reports in its startup ParameterStatus; rules that answer
   * `SHOW server_version` themselves set it so both agree. Default `DSQL_SERVER_VERSION`.
   */
  serverVersion?: string;
  /**
   * Statements run once on the upstream at start, each on its own, before any client session
   * (e.g. the `sys` schema for async jobs, per-database settings such as `TimeZone`).
   */
  bootstrapSql?: readonly string[];
  /** Resolves when the rules can analyze SQL (e.g. the WASM parser is loaded); await it at start. */
  ready?(): Promise<void>;
  /** A rules session for one client connection. */
  newSession(): SqlSession;
}

/** Rules that forward everything unchanged. */
export const passThroughRules: SqlRules = {
  newSession: () => ({ onSql: () => ({ kind: 'forward' }) }),
};
