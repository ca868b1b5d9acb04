#!/usr/bin/env node
// `pnpm test:matrix` (run by .ci/run after `pnpm test`): what `pnpm test` does not cover.
//  1. The packages' own suites (real drivers against @dsql/local) on the other Node lines we
//     support (LINES below) — Node builds from the npm registry, cached in .cache/node/ — while
//     `pnpm test` runs everything on the Node in use (CI: 20).
//  2. The user apps (scripts/user-apps/run.mjs): the packed packages installed with npm into
//     fresh apps at the lowest and latest peer versions, every README quick start compiled and run.
// Each jest run and each user-app check is counted in .test-results/ (this script does not clear
// it, so .ci/run's totals line adds these to `pnpm test`'s). Prints `N passed, N failed` for its
// own part; exits non-zero on any failure.
//
//   node scripts/matrix.mjs [--node 22,24] [--skip-user-apps] [--skip-node-suites]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureNode, root } from './node-builds.mjs';

/**
 * Node lines besides the one running this script (CI: 20, where `pnpm test` runs everything), and
 * the suites each runs — chosen for CI time (2 cores): Node 22, the production line most users
 * are on, every adapter's suite (real drivers against an in-process @dsql/local); Node 24 core
 * and the ORM adapters (whose integration tests drive both pg and Postgres.js). @dsql/local's own
 * suite runs on 20 only, though every integration test starts it in-process. The user apps run
 * the README quick starts on 20, 22, 24 and 26 besides.
 */
const LINES = {
  22: ['@dsql/core', '@dsql/pg', '@dsql/postgres', '@dsql/kysely', '@dsql/drizzle'],
  24: ['@dsql/core', '@dsql/kysely', '@dsql/drizzle'],
};
const PACKAGE_TIMEOUT_MINUTES = 6;
const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const majors = (opt('--node') ?? Object.keys(LINES).join(',')).split(',').map(Number);
const resultsDir = join(root, '.test-results');
mkdirSync(resultsDir, { recursive: true });

const ownResults = () => new Set(readdirSync(resultsDir).filter((f) => f.endsWith('.json')));
// A previous matrix run's files would be mistaken for `pnpm test`'s: remove them.
for (const file of ownResults()) {
  const r = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
  const fromMatrix = /^(user-apps-|matrix-)/.test(file) || (r.node !== undefined && !r.node.startsWith(`${process.versions.node.split('.')[0]}.`));
  if (fromMatrix) rmSync(join(resultsDir, file));
}
const before = ownResults();

// The suites run in process groups of their own (so that a stuck one can be stopped with its
// servers); stop them too when this script is stopped (CI's timeout, Ctrl+C).
const running = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const pid of running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(1);
  });
}

if (!args.includes('--skip-node-suites')) {
  for (const major of majors) {
    let build;
    try {
      build = ensureNode(major);
    } catch (err) {
      console.error(`matrix: no Node ${major} build: ${err.message}`);
      writeResult(`node${major}`, 0, 1, [`Node ${major} could not be installed from the npm registry`]);
      continue;
    }
    const packages = LINES[major] ?? Object.values(LINES)[0];
    console.log(`\n=== Node ${build.version}: ${packages.join(', ')} (each package's jest.config.cjs)`);
    const notes = await runSuites(build, packages);
    if (notes.length) {
      for (const note of notes) console.error(`matrix: ${note}`);
      writeResult(`node${major}`, 0, notes.length, notes);
    }
  }
}

/**
 * Runs each package's main jest config (not the extra peer-version configs such as
 * jest.postgres-v3.config.cjs: `pnpm test` and the user apps cover the peer versions) with this
 * Node build, two packages at a time, each bounded by PACKAGE_TIMEOUT_MINUTES. Returns notes for
 * what jest itself could not report: a package that never wrote results, or one stopped at its
 * bound (a jest that reported and never exited holds a socket or a server open).
 */
async function runSuites(build, packages) {
  const env = {
    ...process.env,
    // Every `node` jest starts (its workers, child scenarios) is this build: first on PATH.
    PATH: `${build.binDir}${delimiter}${process.env.PATH}`,
    NODE_OPTIONS: '--experimental-vm-modules --no-warnings',
  };
  const jest = join(root, 'node_modules', 'jest', 'bin', 'jest.js');
  const notes = [];
  const queue = [...packages];
  const worker = async () => {
    for (let pkg = queue.shift(); pkg; pkg = queue.shift()) {
      const name = pkg.replace('@dsql/', '');
      const cwd = join(root, 'packages', name);
      const started = Date.now();
      const child = spawn(build.node, [jest, '--ci'], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      running.add(child.pid);
      const prefix = `${name}@node${build.major}: `;
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on('line', (line) => console.log(prefix + line));
      }
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, PACKAGE_TIMEOUT_MINUTES * 60_000);
      const code = await new Promise((resolve) => child.once('close', (status) => resolve(status)));
      clearTimeout(timer);
      running.delete(child.pid);
      const results = readdirSync(resultsDir)
        .filter((f) => f.startsWith(`${name}.`) && f.endsWith('.json'))
        .map((f) => JSON.parse(readFileSync(join(resultsDir, f), 'utf8')))
        .filter((r) => r.node === build.version);
      console.log(`${prefix}exit ${timedOut ? 'stopped' : code} after ${Math.round((Date.now() - started) / 1000)} s`);
      if (timedOut) notes.push(`${name} on Node ${build.version} did not finish within ${PACKAGE_TIMEOUT_MINUTES} minutes (jest did not exit: something stayed open)`);
      else if (results.length === 0) notes.push(`${name} on Node ${build.version}: jest exited ${code} without results`);
    }
  };
  await Promise.all([worker(), worker()]);
  return notes;
}

if (!args.includes('--skip-user-apps')) {
  console.log('\n=== user apps (packed packages, lowest and latest peers, README quick starts)');
  const run = spawnSync(process.execPath, [join(root, 'scripts/user-apps/run.mjs')], { cwd: root, stdio: 'inherit', env: process.env });
  const wrote = [...ownResults()].some((f) => f.startsWith('user-apps-') && !before.has(f));
  if (run.status !== 0 && !wrote) {
    writeResult('user-apps-harness', 0, 1, [`scripts/user-apps/run.mjs exited ${run.status} without results`]);
  }
}

let passed = 0;
let failed = 0;
for (const file of ownResults()) {
  if (before.has(file)) continue;
  const r = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
  // Only this script's runs (a developer's own jest runs may write here meanwhile).
  const ours = /^(user-apps-|matrix-)/.test(file) || majors.some((major) => r.node?.startsWith(`${major}.`));
  if (!ours) continue;
  passed += r.passed;
  failed += r.failed + r.suitesFailedToRun;
}
console.log(`\nmatrix: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

function writeResult(name, passedCount, failedCount, notes) {
  writeFileSync(
    join(resultsDir, `matrix-${name}.json`),
    JSON.stringify({ name: `matrix-${name}`, passed: passedCount, failed: failedCount, skipped: 0, suitesFailedToRun: 0, success: failedCount === 0, notes }, null, 2),
  );
}
