#!/usr/bin/env node
// `pnpm test`: runs every package's jest suite through turbo, then prints the totals
// over all packages as one line: `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, '.test-results');
rmSync(resultsDir, { recursive: true, force: true });

const args = ['turbo', 'run', 'test', '--concurrency=2', '--continue', ...process.argv.slice(2)];
const run = spawnSync('pnpm', ['exec', ...args], { cwd: root, stdio: 'inherit', env: process.env });

let passed = 0;
let failed = 0;
let skipped = 0;
let files = [];
try {
  files = readdirSync(resultsDir).filter((f) => f.endsWith('.json'));
} catch {
  // no package reported: counted as a failure below
}
for (const file of files) {
  const r = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
  passed += r.passed;
  failed += r.failed + r.suitesFailedToRun;
  skipped += r.skipped;
}
const ok = run.status === 0 && failed === 0 && files.length > 0;
if (run.status !== 0 && failed === 0) failed = 1; // a package failed outside jest (build, setup)
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(ok ? 0 : 1);
