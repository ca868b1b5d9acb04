#!/usr/bin/env node
// `pnpm test:matrix` (run by .ci/run after `pnpm test`): what `pnpm test` does not cover.
//  1. Every published package's own suite (real drivers against @dsql/local) on the other Node
//     lines we support — Node builds from the npm registry, cached in .cache/node/ — while
//     `pnpm test` covers the examples and bench on the Node in use (CI: 20).
//  2. The user apps (scripts/user-apps/run.mjs): the packed packages installed with npm into
//     fresh apps at the lowest and latest peer versions, every README quick start compiled and run.
// Each jest run and each user-app check is counted in .test-results/ (this script does not clear
// it, so .ci/run's totals line adds these to `pnpm test`'s). Prints `N passed, N failed` for its
// own part; exits non-zero on any failure.
//
//   node scripts/matrix.mjs [--node 22,24] [--skip-user-apps] [--skip-node-suites]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
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
const LINE_TIMEOUT_MINUTES = 9;
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
    const PACKAGES = LINES[major] ?? Object.values(LINES)[0];
    console.log(`\n=== Node ${build.version}: ${PACKAGES.join(', ')}`);
    const start = readdirSync(resultsDir);
    // Every `node` the suites start (pnpm, jest and its workers) is this build: first on PATH.
    const env = { ...process.env, PATH: `${build.binDir}${delimiter}${process.env.PATH}` };
    // Bounded per line: a suite hanging on one Node version must not eat the others' time
    // (`timeout` runs the command in a process group of its own and stops all of it).
    const run = spawnSync('timeout', ['--kill-after=20s', `${LINE_TIMEOUT_MINUTES}m`, 'pnpm', 'exec', 'turbo', 'run', 'test', '--concurrency=2', '--continue', ...PACKAGES.map((p) => `--filter=${p}`)], {
      cwd: root,
      stdio: 'inherit',
      env,
    });
    // A package whose jest never reported (crashed, killed) is one failure, not silence.
    const fresh = readdirSync(resultsDir)
      .filter((f) => !start.includes(f) && f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(resultsDir, f), 'utf8')))
      .filter((r) => r.node?.startsWith(`${major}.`));
    const reported = new Set(fresh.map((r) => r.name));
    const silent = PACKAGES.map((p) => p.replace('@dsql/', '')).filter((name) => !reported.has(name));
    const failedOutsideJest = run.status !== 0 && !fresh.some((r) => r.failed + r.suitesFailedToRun > 0);
    if (run.status === 124) console.error(`matrix: the suites on Node ${build.version} were stopped after ${LINE_TIMEOUT_MINUTES} minutes`);
    const notes = [
      ...silent.map((name) => `${name}: no jest results on Node ${build.version}`),
      // A jest that reported and then never exited (a socket or server left open) is a failure too.
      ...(run.status === 124 ? [`the suites on Node ${build.version} did not finish within ${LINE_TIMEOUT_MINUTES} minutes (a jest process that does not exit holds something open)`] : []),
      ...(failedOutsideJest && run.status !== 124 ? [`turbo exited ${run.status} on Node ${build.version} with no failing test recorded`] : []),
    ];
    if (notes.length) {
      for (const note of notes) console.error(`matrix: ${note}`);
      writeResult(`node${major}`, 0, notes.length, notes);
    }
  }
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
