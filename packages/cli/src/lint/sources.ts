/**
 * The SQL files `dsql lint` and `dsql migrate` read, and how each is run — which decides what
 * counts as one transaction: drizzle-kit folders (a `meta/_journal.json` beside the files; each
 * `--> statement-breakpoint` chunk is one query), Prisma migration folders (`<name>/migration.sql`,
 * sent by Prisma as one script, hence one transaction on DSQL), and plain `.sql` files (psql:
 * every statement its own transaction unless inside BEGIN … COMMIT).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../io.js';

/** How a file's statements are sent to the database. */
export type SourceKind = 'drizzle' | 'prisma' | 'sql';

/**
 * One SQL file to lint.
 *
 * @example
 * const s: SqlSource = { path: '/app/drizzle/0000_init.sql', file: 'drizzle/0000_init.sql', kind: 'drizzle' };
 */
export interface SqlSource {
  /** Absolute path. */
  path: string;
  /** As shown to the user (relative to the working directory). */
  file: string;
  kind: SourceKind;
}

/** drizzle-kit writes its journal to `<out>/meta/_journal.json`. */
const isDrizzleFolder = (dir: string): boolean => existsSync(join(dir, 'meta', '_journal.json'));

function kindOf(path: string): SourceKind {
  if (isDrizzleFolder(dirname(path))) return 'drizzle';
  if (basename(path) === 'migration.sql') return 'prisma';
  return 'sql';
}

/** Every `.sql` file under `dir`, sorted by path (migration names sort in order); dot folders and node_modules skipped. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.isFile() && entry.name.endsWith('.sql')) out.push(path);
  }
  return out;
}

/**
 * The SQL files named by `inputs` (files, or folders searched recursively), each once, in order.
 *
 * @example
 * collectSources(['drizzle', 'prisma/migrations', 'seed.sql'], process.cwd());
 */
export function collectSources(inputs: readonly string[], cwd: string): SqlSource[] {
  const seen = new Set<string>();
  const out: SqlSource[] = [];
  for (const input of inputs) {
    const path = resolve(cwd, input);
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw new UsageError(`${JSON.stringify(input)}: no such file or folder (expected .sql files or folders of them)`);
    }
    const files = stat.isDirectory() ? walk(path) : [path];
    if (stat.isDirectory() && files.length === 0) throw new UsageError(`${JSON.stringify(input)}: no .sql files in this folder`);
    for (const file of files) {
      if (seen.has(file)) continue;
      seen.add(file);
      out.push({ path: file, file: relative(cwd, file) || file, kind: kindOf(file) });
    }
  }
  return out;
}
