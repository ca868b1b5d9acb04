// What the nested-transaction guard (AsyncLocalStorage around transaction() callbacks) costs:
// this package's current source ("after") against its source before the guard ("before"), both
// bundled the same way, run side by side in one process against one @dsql/local (in its own
// process, from bench/lib). Rounds alternate (forward, then reversed); a ratio is the median of
// per-round ratios, so load from other processes hits both sides alike.
//
//   node packages/pg/bench/nested-guard.mjs            # 5 rounds × 1.5 s per candidate and workload
//   ROUNDS=3 SECONDS=1 node packages/pg/bench/nested-guard.mjs
//   BEFORE_REV=<git rev> node packages/pg/bench/nested-guard.mjs
//
// Workloads (16 callers, pool max 8):
//   query        pool.query('SELECT 1'), no transaction anywhere
//   transaction  pool.transaction((tx) => tx.query('SELECT 1'))
//   mixed        12 callers of pool.query() beside 4 of pool.transaction(): queries/s (a callback is
//                open most of the time, so every promise of the process pays Node 20/22's hooks)
//   cpu          a promise-heavy loop (no I/O) while one transaction callback is held open
//   cpu-idle     the same loop right after a transaction, with no callback open anywhere
// Candidates: before, after, and after with `detectNestedTransactions: false` ("after-off").
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEmulator } from '../../../bench/lib/emulator.mjs';
import { alternate, median, medianRatio } from '../../../bench/lib/measure.mjs';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(pkg, '..', '..');
// node_modules of this package, so that the bundles resolve pg and @dsql/core as the package does.
const out = join(pkg, 'node_modules', '.bench-nested-guard');
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 1.5);

function git(...args) {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
}

function bundle(srcDir, outfile) {
  execFileSync(join(repo, 'node_modules', '.bin', 'esbuild'), [
    join(srcDir, 'index.ts'), '--bundle', '--platform=node', '--format=esm', '--target=node20', '--packages=external',
    '--log-level=warning', `--outfile=${outfile}`,
  ]);
}

/** Bundles the current source and the source of `BEFORE_REV` (default: the commit before the guard). */
function build() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'before'), { recursive: true });
  const added = git('log', '--diff-filter=A', '--format=%H', '--', 'packages/pg/src/nested-transaction-guard.ts').split('\n').pop();
  const rev = process.env.BEFORE_REV ?? `${added}^`;
  execFileSync('sh', ['-c', `git archive ${rev} packages/pg/src | tar -x -C "${join(out, 'before')}"`], { cwd: repo });
  bundle(join(out, 'before', 'packages', 'pg', 'src'), join(out, 'before.mjs'));
  bundle(join(pkg, 'src'), join(out, 'after.mjs'));
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

const workloads = {
  query: (pool) => runFor(SECONDS, 16, () => pool.query('SELECT 1')),
  transaction: (pool) => runFor(SECONDS, 16, () => pool.transaction((tx) => tx.query('SELECT 1'))),
  mixed: async (pool) => {
    let stop = false;
    const tx = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) await pool.transaction((t) => t.query('SELECT 1'));
      }),
    );
    const qps = await runFor(SECONDS, 12, () => pool.query('SELECT 1'));
    stop = true;
    await tx;
    return qps;
  },
  cpu: async (pool) => {
    let release;
    const held = new Promise((resolve) => (release = resolve));
    let entered;
    const inside = new Promise((resolve) => (entered = resolve));
    const tx = pool.transaction(async () => {
      entered();
      await held;
    });
    await inside;
    const rate = await spin(SECONDS);
    release();
    await tx;
    return rate;
  },
  'cpu-idle': async (pool) => {
    await pool.transaction((tx) => tx.query('SELECT 1'));
    return spin(SECONDS);
  },
};

const NAMES = ['before', 'after', 'after-off'];
const rev = build();
const emu = await startEmulator();
const pools = {};
try {
  for (const name of NAMES) {
    const { DsqlPool } = await import(pathToFileURL(join(out, `${name === 'before' ? 'before' : 'after'}.mjs`)).href);
    const off = name === 'after-off' ? { detectNestedTransactions: false } : {};
    pools[name] = new DsqlPool({ ...emu.connectionOptions(), credentials: async () => ({ ...emu.credentials }), max: 8, ...off });
    pools[name].on('error', () => {});
  }
  console.log(`before = packages/pg/src at ${rev}, after = working tree; ${ROUNDS} rounds × ${SECONDS} s, Node ${process.version}`);
  for (const [workload, measure] of Object.entries(workloads)) {
    for (const name of NAMES) await measure(pools[name]); // warm up: connections, JIT
    const perRound = await alternate(NAMES, ROUNDS, (name) => measure(pools[name]));
    const unit = workload.startsWith('cpu') ? 'awaits/s' : workload === 'transaction' ? 'tx/s' : 'q/s';
    const fmt = (name) => `${Math.round(median(perRound[name])).toLocaleString('en-US')} ${unit}`;
    const ratio = (name) => `${medianRatio(perRound, name, 'before').toFixed(2)} (${perRound[name].map((x, r) => (x / perRound.before[r]).toFixed(2)).join(' ')})`;
    console.log(`${workload.padEnd(12)} before ${fmt('before')}; after ${fmt('after')}, ×${ratio('after')}; after-off ${fmt('after-off')}, ×${ratio('after-off')}`);
  }
} finally {
  await Promise.all(Object.values(pools).map((p) => p.end().catch(() => undefined)));
  await emu.stop();
  rmSync(out, { recursive: true, force: true });
}
