// Runs the real drizzle-kit CLI (`drizzle-kit generate`, offline) into a temporary folder.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// drizzle-kit's exports map has no ./package.json; its bin sits at the package root.
const drizzleKit = join(packageDir, 'node_modules', 'drizzle-kit', 'bin.cjs');

/** A temporary folder; remove it with `rmSync(folder, { recursive: true })`. */
export function tempFolder(prefix = 'dsql-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * `drizzle-kit generate` for each schema file in turn (one migration each) into `out`.
 * drizzle-kit resolves the schema's imports from the package, so it runs from the package
 * folder (and wants `out` relative to it).
 */
export function generateMigrations(out: string, schemas: { file: string; name: string }[]): void {
  for (const { file, name } of schemas) {
    const run = spawnSync(
      process.execPath,
      [drizzleKit, 'generate', '--dialect=postgresql', `--schema=${join('test', 'fixtures', file)}`, `--out=${relative(packageDir, out)}`, `--name=${name}`],
      { cwd: packageDir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 60_000 },
    );
    if (run.status !== 0) throw new Error(`drizzle-kit generate failed (${run.status}): ${run.stderr}\n${run.stdout}`);
  }
}

export function removeFolder(folder: string | undefined): void {
  if (folder) rmSync(folder, { recursive: true, force: true });
}
