/** A database object of one adapter, reduced to what the scenarios need. */
export interface ScenarioDb {
  /** Runs `text` (it selects one row with a column `n`) and returns `n`. */
  value(text: string): Promise<unknown>;
  /** Runs `fn` in the adapter's (retrying) transaction; `value` runs a statement inside it. */
  transaction(fn: (value: (text: string) => Promise<unknown>) => Promise<unknown>): Promise<unknown>;
  /** Ends it (errors are ignored). */
  close(): Promise<void>;
}

/** Opens a database object of the adapter under test from shared DSQL connection options. */
export interface ScenarioAdapter {
  open(options: Record<string, unknown>): Promise<ScenarioDb> | ScenarioDb;
}

/** Scenario names, in the order they run. */
export declare const CONNECTION_LOSS_SCENARIOS: readonly [
  'idle-age',
  'idle-terminate',
  'mid-query',
  'tx-before-commit',
  'tx-commit-in-flight',
  'idle-stop',
];

/**
 * In a child process (see run.mjs): runs the connection-loss scenarios against `adapter` with
 * no 'error' listener, printing `RESULT {json}` per scenario and `DONE` at the end. Reads
 * `DSQL_SCENARIO_UPSTREAM` (a @dsql/local's `upstreamUrl`), `DSQL_SCENARIO_CREDENTIALS` (its
 * `credentials` as JSON) and optionally `DSQL_SCENARIOS` (comma-separated names).
 *
 * @example
 * await runConnectionLossScenarios({ open: (options) => poolDb(new DsqlPool(options)) });
 */
export function runConnectionLossScenarios(adapter: ScenarioAdapter): Promise<void>;
