/**
 * The `dsql` command as a function: the binary (`cli.ts`) only wires it to the process.
 */
import { DsqlConfigError, redact } from '@dsql/core';
import { doctorCommand, DOCTOR_HELP } from './commands/doctor.js';
import { envCommand, ENV_HELP } from './commands/env.js';
import { lintCommand, LINT_HELP } from './commands/lint.js';
import { localCommand, LOCAL_HELP } from './commands/local.js';
import { migrateCommand, MIGRATE_HELP } from './commands/migrate.js';
import { psqlCommand, PSQL_HELP } from './commands/psql.js';
import { tokenCommand, TOKEN_HELP } from './commands/token.js';
import { UsageError, type CliIo } from './io.js';

export const HELP = `Usage: dsql <command> [options]

Aurora DSQL from the command line — no AWS CLI, no Python.

Commands:
  token     print an IAM authentication token
  env       print export lines for psql, pg_dump and other libpq tools
  psql      run psql with a fresh token (never on its command line)
  lint      check SQL migrations against DSQL's rules, offline (--fix rewrites what is mechanical)
  migrate   apply a folder of SQL migrations (or Prisma's) the DSQL-safe way
  local     start a local DSQL endpoint (@dsql/local)
  doctor    walk the troubleshooting steps: DNS, TCP, TLS, credentials, token, auth, query, clock

Run dsql <command> --help for a command's options and examples.`;

/** node:util parseArgs' errors (by code: they come from Node's own realm, so instanceof may not match). */
const isParseArgsError = (err: unknown): boolean => /^ERR_(PARSE_ARGS|INVALID_ARG)/.test(String((err as { code?: unknown } | null)?.code ?? ''));

type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  token: { run: tokenCommand, help: TOKEN_HELP },
  env: { run: envCommand, help: ENV_HELP },
  psql: { run: psqlCommand, help: PSQL_HELP },
  lint: { run: lintCommand, help: LINT_HELP },
  migrate: { run: migrateCommand, help: MIGRATE_HELP },
  local: { run: localCommand, help: LOCAL_HELP },
  doctor: { run: doctorCommand, help: DOCTOR_HELP },
};

/**
 * Runs `dsql` with `argv` (without `node` and the script) and resolves to its exit code:
 * 0 success, 1 the command's check failed (lint findings, a failed migration), 2 bad usage or
 * input; a child's own code for `psql`. Errors are written to `io.err`, tokens redacted; it
 * never throws.
 *
 * @example
 * import { runCli } from '@dsql/cli';
 * const code = await runCli(['token', '--host', endpoint], { out: console.log, err: console.error, env: process.env, cwd: process.cwd(), interactive: false });
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`dsql: unknown command ${JSON.stringify(name)}; one of: ${Object.keys(COMMANDS).join(', ')}.\n\n${HELP}`);
    return 2;
  }
  try {
    return await command.run(args, io);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.err(`dsql ${name}: ${redact(message)}`);
    // Bad flags (parseArgs' errors, our UsageError, core's DsqlConfigError) are usage errors.
    const usage = err instanceof UsageError || err instanceof DsqlConfigError || isParseArgsError(err);
    if (usage) io.err(`Run dsql ${name} --help for the options.`);
    return usage ? 2 : 1;
  }
}
