// What the nested-transaction guard (AsyncLocalStorage around sql.begin()/transaction() callbacks)
// costs: this package's current source ("after") against its source before the guard ("before"),
// both bundled the same way, run side by side in one process against one @dsql/local (in its own
// process, from bench/lib). Rounds alternate (forward, then reversed); a ratio is the median of
// per-round ratios, so load from other processes hits both sides alike. Same method and workloads
// as packages/pg/bench/nested-guard.mjs, with Postgres.js.
//
//   node packages/postgres/bench/nested-guard.mjs            # 5 rounds × 1.5 s per candidate and workload
//   ROUNDS=3 SECONDS=1 node packages/postgres/bench/nested-guard.mjs
//   BEFORE_REV=<git rev> node packages/postgres/bench/nested-guard.mjs
//   WORKLOADS=transaction,mixed node packages/postgres/bench/nested-guard.mjs   # only these
//
// Workloads (16 callers, max 8):
//   query        sql`select 1`, no transaction anywhere
//   transaction  sql.begin((tx) => tx`select 1`)
//   mixed        12 callers of sql`select 1` beside 4 of sql.begin(): queries/s (a callback is open
//                most of the time, so every promise of the process pays Node 20/22's hooks)
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
// node_modules of this package, so that the bundles resolve postgres and @dsql/core as the package does.
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
  const added = git('log', '--diff-filter=A', '--format=%H', '--', 'packages/postgres/src/nested-transaction-guard.ts').split('\n').pop();
  const rev = process.env.BEFORE_REV ?? `${added}^`;
  execFileSync('sh', ['-c', `git archive ${rev} packages/postgres/src | tar -x -C "${join(out, 'before')}"`], { cwd: repo });
  bundle(join(out, 'before', 'packages', 'postgres', 'src'), join(out, 'before.mjs'));
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
  query: (sql) => runFor(SECONDS, 16, () => sql`select 1`),
  transaction: (sql) => runFor(SECONDS, 16, () => sql.begin((tx) => tx`select 1`)),
  mixed: async (sql) => {
    let stop = false;
    const tx = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) await sql.begin((t) => t`select 1`);
      }),
    );
    const qps = await runFor(SECONDS, 12, () => sql`select 1`);
    stop = true;
    await tx;
    return qps;
  },
  cpu: async (sql) => {
    let release;
    const held = new Promise((resolve) => (release = resolve));
    let entered;
    const inside = new Promise((resolve) => (entered = resolve));
    const tx = sql.begin(async () => {
      entered();
      await held;
    });
    await inside;
    const rate = await spin(SECONDS);
    release();
    await tx;
    return rate;
  },
  'cpu-idle': async (sql) => {
    await sql.begin((tx) => tx`select 1`);
    return spin(SECONDS);
  },
};

const only = process.env.WORKLOADS?.split(',');
const NAMES = ['before', 'after', 'after-off'];
const rev = build();
const emu = await startEmulator();
const sqls = {};
try {
  for (const name of NAMES) {
    const { dsql } = await import(pathToFileURL(join(out, `${name === 'before' ? 'before' : 'after'}.mjs`)).href);
    const off = name === 'after-off' ? { detectNestedTransactions: false } : {};
    sqls[name] = dsql({ ...emu.connectionOptions(), credentials: async () => ({ ...emu.credentials }), max: 8, ...off });
  }
  console.log(`before = packages/postgres/src at ${rev}, after = working tree; ${ROUNDS} rounds × ${SECONDS} s, Node ${process.version}`);
  for (const [workload, measure] of Object.entries(workloads)) {
    if (only !== undefined && !only.includes(workload)) continue;
    for (const name of NAMES) await measure(sqls[name]); // warm up: connections, JIT
    const perRound = await alternate(NAMES, ROUNDS, (name) => measure(sqls[name]));
    const unit = workload.startsWith('cpu') ? 'awaits/s' : workload === 'transaction' ? 'tx/s' : 'q/s';
    const fmt = (name) => `${Math.round(median(perRound[name])).toLocaleString('en-US')} ${unit}`;
    const ratio = (name) => `${medianRatio(perRound, name, 'before').toFixed(2)} (${perRound[name].map((x, r) => (x / perRound.before[r]).toFixed(2)).join(' ')})`;
    console.log(`${workload.padEnd(12)} before ${fmt('before')}; after ${fmt('after')}, ×${ratio('after')}; after-off ${fmt('after-off')}, ×${ratio('after-off')}`);
  }
} finally {
  await Promise.all(Object.values(sqls).map((sql) => sql.end({ timeout: 5 }).catch(() => undefined)));
  await emu.stop();
  rmSync(out, { recursive: true, force: true });
}
