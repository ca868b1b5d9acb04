import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

declare const POSTGRES_JS_ENTRY: string;

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..', '..');

/**
 * The application a child process runs: `dsql()` from this package's source (bundled with
 * @dsql/core's source and the Postgres.js this jest run tests), with no 'error' listener, no
 * `uncaughtException` handler, nothing but queries. It answers commands on stdin, one line each:
 * `query` runs `select pg_backend_pid()` and prints `{ ok, pid }` or `{ ok: false, code, message }`;
 * `end` ends the sql and lets the process exit by itself (exit code 0 unless something crashed it);
 * `detach` stops reading stdin but leaves the sql open.
 */
const APP = `
import { dsql } from './dsql-postgres.mjs';
import { createInterface } from 'node:readline';
const options = JSON.parse(process.env.DSQL_CHILD_OPTIONS);
const sql = dsql(options);
const lines = createInterface({ input: process.stdin });
const say = (x) => process.stdout.write(JSON.stringify(x) + '\\n');
for await (const line of lines) {
  if (line === 'query') {
    try {
      const [row] = await sql\`select pg_backend_pid() as pid\`;
      say({ ok: true, pid: row.pid });
    } catch (err) {
      say({ ok: false, code: err.code ?? null, message: String(err.message) });
    }
  } else if (line === 'detach') {
    // Stop listening to the parent without ending the sql: the process exits once nothing else holds it.
    say({ detached: true });
    lines.close();
    process.stdin.destroy();
    break;
  } else if (line === 'end') {
    await sql.end({ timeout: 1 });
    say({ ended: true });
    lines.close();
    process.stdin.destroy();
    break;
  }
}
`;

/** A directory holding the bundled app; `dispose()` removes it. */
export interface ChildAppBundle {
  dir: string;
  dispose(): void;
}

/**
 * Bundles `src/index.ts` (with @dsql/core's source and the Postgres.js of this jest run, so a
 * stale or missing dist cannot be what is tested) and the app script into a temporary directory.
 */
export function bundleChildApp(): ChildAppBundle {
  const esbuild = join(dirname(createRequire(import.meta.url).resolve('esbuild/package.json')), 'bin', 'esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'dsql-postgres-child-'));
  execFileSync(esbuild, [
    join(here, '..', '..', 'src', 'index.ts'),
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--log-level=error',
    `--alias:postgres=${POSTGRES_JS_ENTRY}`,
    `--alias:@dsql/core=${join(root, 'packages', 'core', 'src', 'index.ts')}`,
    // CommonJS dependencies (the AWS SDK) call require(); an ES module has none of its own.
    "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    `--outfile=${join(dir, 'dsql-postgres.mjs')}`,
  ]);
  writeFileSync(join(dir, 'app.mjs'), APP);
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What a child app answered to `query`. */
export type QueryAnswer = { ok: true; pid: number } | { ok: false; code: string | null; message: string };

/** A running child app. */
export interface ChildApp {
  /** Runs one query in the child and resolves to its answer (rejects if the child died). */
  query(): Promise<QueryAnswer>;
  /** Ends the child's sql and resolves to the exit code and everything the child wrote to stderr. */
  end(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Stops the child's stdin loop, leaving its sql open; resolves once the child answered. */
  detach(): Promise<void>;
  /** Resolves to how the process ended, or to 'running' if it still runs after `ms`. */
  exitWithin(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string } | 'running'>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Everything written to stderr so far (an uncaught exception shows up here). */
  stderr(): string;
  kill(): void;
}

/**
 * Starts the bundled app in a child process with these `dsql()` options (they reach the child
 * as JSON, secrets included: test credentials only).
 */
export function startChildApp(bundle: ChildAppBundle, options: Record<string, unknown>): ChildApp {
  const child: ChildProcess = spawn(process.execPath, [join(bundle.dir, 'app.mjs')], {
    cwd: bundle.dir,
    env: { ...process.env, NODE_OPTIONS: '', DSQL_CHILD_OPTIONS: JSON.stringify(options) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const answers: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => answers.shift()?.(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ask = (command: string): Promise<string> =>
    new Promise((resolve, reject) => {
      answers.push(resolve);
      void exited.then(({ code, signal }) => reject(new Error(`child exited (code ${code}, signal ${signal}) before answering ${command}:\n${stderr}`)));
      child.stdin!.write(`${command}\n`);
    });
  return {
    query: async () => JSON.parse(await ask('query')) as QueryAnswer,
    end: async () => {
      await ask('end');
      child.stdin!.end();
      return { ...(await exited), stderr };
    },
    detach: async () => {
      await ask('detach');
      child.stdin!.end();
    },
    exitWithin: (ms) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        exited.then((x) => ({ ...x, stderr })),
        new Promise<'running'>((r) => (timer = setTimeout(() => r('running'), ms))),
      ]).finally(() => clearTimeout(timer));
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr: () => stderr,
    kill: () => void child.kill(),
  };
}
