/** What a child script printed and how it ended. */
export interface ScriptRun {
  /** Exit code (`null` when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the child ran past `timeoutMs` and was killed. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** Every `RESULT {"scenario": name, …}` line, by scenario name. */
  results: Record<string, Record<string, unknown>>;
  /** The child printed a `DONE` line. */
  done: boolean;
}

/**
 * Runs a workspace TypeScript file (absolute path) in a child `node` process, with `@dsql/*`
 * resolved to the packages' sources, and waits for it to end.
 *
 * @example
 * const run = await runScript(fileURLToPath(new URL('./scenarios/pool.ts', import.meta.url)), { env: { X: '1' } });
 * expect(run.code).toBe(0);
 */
export function runScript(script: string, options?: { env?: Record<string, string>; timeoutMs?: number }): Promise<ScriptRun>;

/** How many times `stderr` shows a process warning with this code (`(node:…) [CODE] …`). */
export function warningCount(stderr: string, code: string): number;

/**
 * The environment of a connection-loss scenario child: `local`'s upstream PostgreSQL and identity
 * (each scenario starts its own proxy over them), and the scenarios to run (default: all).
 *
 * @example
 * await runScript(script, { env: scenarioEnv(local, ['idle-age']) });
 */
export function scenarioEnv(
  local: { upstreamUrl: string; credentials: object },
  scenarios?: readonly string[],
): Record<string, string>;
