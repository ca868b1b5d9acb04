/**
 * Where a command writes and what it reads from its process: kept apart so that every command
 * runs in a test exactly as in the `dsql` binary.
 */

/**
 * The process around a command run.
 *
 * @example
 * const io: CliIo = { out: console.log, err: console.error, env: process.env, cwd: process.cwd(), interactive: false };
 */
export interface CliIo {
  /** Standard output, one call per line or block (no trailing newline). */
  out(text: string): void;
  /** Standard error, likewise: warnings, progress, errors. */
  err(text: string): void;
  /** The environment the connection options fall back to (`PGHOST`, `AWS_REGION`, …). */
  env: Record<string, string | undefined>;
  /** Relative paths are resolved against it. */
  cwd: string;
  /**
   * A child process (`dsql psql`, `dsql local`) shares the terminal (true: the binary), or its
   * output is read and handed to `out` / `err` (false: tests, programs).
   */
  interactive: boolean;
  /**
   * A transient status line (a terminal: rewritten in place, cleared by the next `out`), for
   * long steps — index jobs, doctor's network steps. Absent when output is not a terminal: only
   * the plain lines are written then.
   */
  status?(text: string): void;
  /** Aborting it stops a running child (`dsql local`, `dsql psql`) with SIGTERM. */
  signal?: AbortSignal;
}

/** A command failed in a way its message explains (bad usage: exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}
