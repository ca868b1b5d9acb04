/** `dsql psql [psql args…]`: the real psql, with a fresh token in its environment. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { parseArgs } from 'node:util';
import { CONNECTION_FLAGS, CONNECTION_HELP, lifetimeWarning, resolveConnection, signToken } from '../connection.js';
import { UsageError, type CliIo } from '../io.js';
import { libpqEnvironment } from './env.js';

export const PSQL_HELP = `Usage: dsql psql [connection options] [--psql <path>] [psql arguments…]

Runs psql with a fresh token in its environment (PGPASSWORD), never on its command line where
ps would show it, and verify-full TLS. The connection options below are dsql's; every other
argument (and everything after --) is handed to psql as it is (psql's own help:
dsql psql -- --help). With a psql older than 16
and no --ca-file, the Node.js root certificates are written to a private temporary file for the
session (libpq 15 cannot read the system's roots by name).

${CONNECTION_HELP}
  --psql <path>           the psql to run (default: psql on PATH)

Examples:
  dsql psql --host abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws
  dsql psql --host <endpoint> -c 'SELECT now()'
  dsql psql --host <endpoint> --user app -- -f seed.sql --echo-errors`;

const OWN_FLAGS = { ...CONNECTION_FLAGS, psql: { type: 'string' } } as const;

/**
 * Splits dsql's flags (`--host x`, `--host=x`) from psql's arguments; `--` ends dsql's.
 *
 * @example
 * splitArgs(['--host', 'h', '-c', 'SELECT 1']); // { own: ['--host', 'h'], rest: ['-c', 'SELECT 1'] }
 */
export function splitArgs(args: readonly string[]): { own: string[]; rest: string[]; help: boolean } {
  const own: string[] = [];
  const rest: string[] = [];
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    const name = /^--([a-z-]+)(=|$)/.exec(arg);
    if (name && name[1]! in OWN_FLAGS) {
      own.push(arg);
      if (name[2] === '') {
        if (i + 1 >= args.length) throw new UsageError(`${arg}: expects a value`);
        own.push(args[++i]!);
      }
    } else if (arg === '--help' || arg === '-h') {
      help = true;
    } else {
      rest.push(arg);
    }
  }
  return { own, rest, help };
}

/** The major version `psql --version` reports, or undefined when psql cannot be run. */
function psqlMajor(psql: string, env: NodeJS.ProcessEnv): number | undefined {
  const run = spawnSync(psql, ['--version'], { encoding: 'utf8', env, timeout: 10_000 });
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(run.stdout ?? '');
  return m ? Number(m[1]) : undefined;
}

const NOT_FOUND = (psql: string): string =>
  `dsql psql: cannot run "${psql}": install the PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client; ` +
  'macOS: brew install libpq) or pass --psql <path>.';

export async function psqlCommand(args: string[], io: CliIo): Promise<number> {
  const split = splitArgs(args);
  if (split.help) {
    io.out(PSQL_HELP);
    return 0;
  }
  const { values } = parseArgs({ args: split.own, options: OWN_FLAGS, allowPositionals: false });
  const { config, caFile } = resolveConnection(values, io.env);
  const psql = values.psql ?? 'psql';
  const env: NodeJS.ProcessEnv = { ...io.env, ...libpqEnvironment(config, caFile) };
  const major = psqlMajor(psql, env);
  if (major === undefined) {
    io.err(NOT_FOUND(psql));
    return 127;
  }
  let tempDir: string | undefined;
  if (!caFile && major < 16) {
    // libpq before 16 has no sslrootcert=system: hand it the roots Node.js trusts (Amazon's among them).
    tempDir = mkdtempSync(join(tmpdir(), 'dsql-psql-'));
    env['PGSSLROOTCERT'] = join(tempDir, 'roots.pem');
    writeFileSync(env['PGSSLROOTCERT'], rootCertificates.join('\n'), { mode: 0o600 });
  }
  try {
    const warning = lifetimeWarning(config);
    if (warning) io.err(warning);
    env['PGPASSWORD'] = await signToken(config);
    return await runChild(psql, split.rest, env, io);
  } finally {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

/**
 * Runs a child to its end and resolves its exit code: sharing the terminal when `io.interactive`
 * (Ctrl-C reaches the child, which decides; dsql waits for it; SIGTERM is passed on), else with its
 * output handed to `io` — at the end, or as it comes with `stream` (a server's banner).
 * `io.signal` aborted stops the child (SIGTERM).
 */
export function runChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv, io: CliIo, stream = false): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: io.interactive ? 'inherit' : ['ignore', 'pipe', 'pipe'], ...(io.signal ? { signal: io.signal } : {}) });
    const ignore = (): void => undefined;
    const forward = (): void => void child.kill('SIGTERM');
    if (io.interactive) {
      process.on('SIGINT', ignore);
      process.on('SIGTERM', forward);
    }
    const done = (): void => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', forward);
    };
    let out = '';
    let err = '';
    const take = (which: 'out' | 'err') => (d: string) => {
      if (stream) io[which](d.replace(/\n$/, ''));
      else if (which === 'out') out += d;
      else err += d;
    };
    child.stdout?.setEncoding('utf8').on('data', take('out'));
    child.stderr?.setEncoding('utf8').on('data', take('err'));
    child.once('error', (e) => {
      if ((e as NodeJS.ErrnoException).code === 'ABORT_ERR') return; // 'close' follows
      done();
      io.err(`${NOT_FOUND(command)} (${e.message})`);
      resolve(127);
    });
    child.once('close', (code, signal) => {
      done();
      if (out) io.out(out.replace(/\n$/, ''));
      if (err) io.err(err.replace(/\n$/, ''));
      resolve(code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1));
    });
  });
}
