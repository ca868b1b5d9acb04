// Runs the `dsql` command in-process (as the binary does, with its output captured) and starts
// @dsql/local for it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { runCli } from '../../src/main.js';

export { startDsqlLocal, type DsqlLocal };

export interface CliRun {
  code: number;
  out: string;
  err: string;
  /** Status lines, when run as on a terminal (`tty: true`). */
  statuses: string[];
}

/** `dsql …args` with `env` as its environment (default: this process's). */
export async function dsql(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string; tty?: boolean } = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const statuses: string[] = [];
  const code = await runCli(args, {
    ...(options.tty ? { status: (t: string) => statuses.push(t) } : {}),
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    interactive: false,
  });
  return { code, out: out.join('\n'), err: err.join('\n'), statuses };
}

/** A temporary folder, removed by `removeTemp`. */
export function tempFolder(prefix = 'dsql-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeTemp(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** A local endpoint, its CA in a file, and the dsql flags that reach it. */
export interface LocalTarget {
  local: DsqlLocal;
  dir: string;
  caFile: string;
  flags: string[];
  stop(): Promise<void>;
}

/**
 * Starts @dsql/local and puts its credentials where the default AWS credential chain looks
 * (this test file's environment: jest gives each file its own `process.env`).
 */
export async function startTarget(): Promise<LocalTarget> {
  const local = await startDsqlLocal();
  const dir = tempFolder();
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, local.ca);
  process.env['AWS_ACCESS_KEY_ID'] = local.credentials.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = local.credentials.secretAccessKey;
  delete process.env['AWS_SESSION_TOKEN'];
  delete process.env['AWS_PROFILE'];
  for (const k of ['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD', 'PGSSLROOTCERT']) delete process.env[k];
  const flags = ['--host', local.host, '--hostaddr', local.hostaddr, '--port', String(local.port), '--region', local.region, '--ca-file', caFile];
  return {
    local,
    dir,
    caFile,
    flags,
    stop: async () => {
      await local.stop();
      removeTemp(dir);
    },
  };
}
