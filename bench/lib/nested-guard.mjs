// What the nested-transaction guard (core's runInTransactionScope: an AsyncLocalStorage around
// transaction callbacks) costs an adapter: the adapter's current source ("after") against its
// source before the guard ("before"), both bundled the same way, run side by side in one process
// against one @dsql/local (in its own process). Rounds alternate (forward, then reversed); a ratio
// is the median of per-round ratios, so load from other processes hits both sides alike.
//
// Shared by packages/pg/bench/nested-guard.mjs and packages/postgres/bench/nested-guard.mjs, which
// only say how their driver queries and starts a transaction. Environment:
//   ROUNDS=5 SECONDS=1.5         rounds, and seconds per candidate and workload in each round
//   BEFORE_REV=<git rev>         the "before" source (default: the commit before the package's guard)
//   WORKLOADS=transaction,mixed  only these workloads
//
// Workloads (16 callers, max 8 connections):
//   query        a query, no transaction anywhere
//   transaction  a transaction running one query
//   mixed        12 callers of the query beside 4 running transactions: queries/s (a callback is
//                open most of the time, so every promise of the process pays Node 20/22's hooks)
//   cpu          a promise-heavy loop (no I/O) while one transaction callback is held open
//   cpu-idle     the same loop right after a transaction, with no callback open anywhere
// Candidates: before, after, and after with `detectNestedTransactions: false` ("after-off").
//
// The bundles leave packages external, so "after" runs the package's src with the *built*
// @dsql/core (where the guard lives since it was shared): build it first (`pnpm --filter
// @dsql/core build`); this script refuses a dist older than core's source.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEmulator } from './emulator.mjs';
import { alternate, median, medianRatio } from './measure.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * @typedef {object} NestedGuardDriver
 * @property {string} pkg         directory name under packages/ ('pg', 'postgres')
 * @property {(mod: any, options: object) => any} open   a pool / sql from the bundle's exports
 * @property {(db: any) => Promise<unknown>} query       one `SELECT 1` outside any transaction
 * @property {(db: any, fn: (tx: any) => Promise<unknown>) => Promise<unknown>} transaction
 * @property {(tx: any) => Promise<unknown>} queryIn     one `SELECT 1` on the callback's `tx`
 * @property {(db: any) => Promise<unknown>} end
 */

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 1.5);
const ONLY = process.env.WORKLOADS?.split(',');

function git(...args) {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
}

function bundle(srcDir, outfile) {
  execFileSync(join(repo, 'node_modules', '.bin', 'esbuild'), [
    join(srcDir, 'index.ts'), '--bundle', '--platform=node', '--format=esm', '--target=node20', '--packages=external',
    '--log-level=warning', `--outfile=${outfile}`,
  ]);
}

/** Fails when the @dsql/core the bundles will load (through the package) is older than core's source. */
function assertCoreBuilt(pkgDir) {
  const dist = dirname(createRequire(join(pkgDir, 'package.json')).resolve('@dsql/core'));
  const built = statSync(join(dist, 'index.js')).mtimeMs;
  const src = join(repo, 'packages', 'core', 'src');
  const stale = readdirSync(src).filter((f) => statSync(join(src, f)).mtimeMs > built);
  if (stale.length > 0) {
    throw new Error(`@dsql/core's dist (${dist}) is older than ${stale.join(', ')}: run \`pnpm --filter @dsql/core build\` first`);
  }
}

/** Bundles the current source and the source of `BEFORE_REV` (default: the commit before the guard). */
function build(pkg, pkgDir, out) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'before'), { recursive: true });
  const guard = `packages/${pkg}/src/nested-transaction-guard.ts`;
  const added = git('log', '--diff-filter=A', '--format=%H', '--', guard).split('\n').pop();
  const rev = process.env.BEFORE_REV ?? `${added}^`;
  execFileSync('sh', ['-c', `git archive ${rev} packages/${pkg}/src | tar -x -C "${join(out, 'before')}"`], { cwd: repo });
  bundle(join(out, 'before', 'packages', pkg, 'src'), join(out, 'before.mjs'));
  bundle(join(pkgDir, 'src'), join(out, 'after.mjs'));
  return git('rev-parse', '--short', rev);
}

async function runFor(seconds, callers, op) {
  let n = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        await op();
        n++;
      }
    }),
  );
  return n / seconds;
}

async function leaf(i) {
  return i;
}

/** Promise-heavy work with no I/O: awaits per second. */
async function spin(seconds) {
  let n = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) for (let i = 0; i < 1000; i++) n += (await leaf(1));
  return n / seconds;
}

/** @param {NestedGuardDriver} d */
function workloadsFor(d) {
  const simpleTx = (db) => d.transaction(db, (tx) => d.queryIn(tx));
  return {
    query: (db) => runFor(SECONDS, 16, () => d.query(db)),
    transaction: (db) => runFor(SECONDS, 16, () => simpleTx(db)),
    mixed: async (db) => {
      let stop = false;
      const tx = Promise.all(
        Array.from({ length: 4 }, async () => {
          while (!stop) await simpleTx(db);
        }),
      );
      const qps = await runFor(SECONDS, 12, () => d.query(db));
      stop = true;
      await tx;
      return qps;
    },
    cpu: async (db) => {
      let release;
      const held = new Promise((resolve) => (release = resolve));
      let entered;
      const inside = new Promise((resolve) => (entered = resolve));
      const tx = d.transaction(db, async () => {
        entered();
        await held;
      });
      await inside;
      const rate = await spin(SECONDS);
      release();
      await tx;
      return rate;
    },
    'cpu-idle': async (db) => {
      await simpleTx(db);
      return spin(SECONDS);
    },
  };
}

/**
 * Runs the benchmark for one adapter and prints one line per workload.
 * @param {NestedGuardDriver} d
 */
export async function runNestedGuardBench(d) {
  const pkgDir = join(repo, 'packages', d.pkg);
  // node_modules of the package, so that the bundles resolve the driver and @dsql/core as the package does.
  const out = join(pkgDir, 'node_modules', '.bench-nested-guard');
  assertCoreBuilt(pkgDir);
  const NAMES = ['before', 'after', 'after-off'];
  const rev = build(d.pkg, pkgDir, out);
  const emu = await startEmulator();
  const dbs = {};
  try {
    for (const name of NAMES) {
      const mod = await import(pathToFileURL(join(out, `${name === 'before' ? 'before' : 'after'}.mjs`)).href);
      const off = name === 'after-off' ? { detectNestedTransactions: false } : {};
      dbs[name] = d.open(mod, { ...emu.connectionOptions(), credentials: async () => ({ ...emu.credentials }), max: 8, ...off });
    }
    console.log(`before = packages/${d.pkg}/src at ${rev}, after = working tree; ${ROUNDS} rounds × ${SECONDS} s, Node ${process.version}`);
    for (const [workload, measure] of Object.entries(workloadsFor(d))) {
      if (ONLY !== undefined && !ONLY.includes(workload)) continue;
      for (const name of NAMES) await measure(dbs[name]); // warm up: connections, JIT
      const perRound = await alternate(NAMES, ROUNDS, (name) => measure(dbs[name]));
      const unit = workload.startsWith('cpu') ? 'awaits/s' : workload === 'transaction' ? 'tx/s' : 'q/s';
      const fmt = (name) => `${Math.round(median(perRound[name])).toLocaleString('en-US')} ${unit}`;
      const ratio = (name) => `${medianRatio(perRound, name, 'before').toFixed(2)} (${perRound[name].map((x, r) => (x / perRound.before[r]).toFixed(2)).join(' ')})`;
      console.log(`${workload.padEnd(12)} before ${fmt('before')}; after ${fmt('after')}, ×${ratio('after')}; after-off ${fmt('after-off')}, ×${ratio('after-off')}`);
    }
  } finally {
    await Promise.all(Object.values(dbs).map((db) => d.end(db).catch(() => undefined)));
    await emu.stop();
    rmSync(out, { recursive: true, force: true });
  }
}
