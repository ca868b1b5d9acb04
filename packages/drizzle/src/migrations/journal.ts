/**
 * Reading a drizzle-kit migrations folder: `meta/_journal.json` lists the migrations in order
 * (`{ idx, version, when, tag, breakpoints }`), each `<tag>.sql` holds its statements separated
 * by `--> statement-breakpoint` (which `@dsql/core/lint` splits at). The hash is Drizzle's:
 * sha256 of the whole file.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DsqlConfigError } from '@dsql/core';

/** One migration of the folder. */
export interface MigrationFile {
  /** The journal's tag, e.g. `0000_brave_hulk` (the file is `<tag>.sql`). */
  tag: string;
  /** The file name relative to the folder. */
  file: string;
  /** The journal's `when` (milliseconds): Drizzle's `created_at`, the key of the tracking table. */
  when: number;
  /** sha256 of the file, hex (as Drizzle computes it). */
  hash: string;
  /** The file's text. */
  sql: string;
}

interface JournalEntry {
  idx?: number;
  when?: unknown;
  tag?: unknown;
}

/**
 * Reads the journal and the migration files of a drizzle-kit folder, in journal order.
 *
 * @example
 * const migrations = readMigrationFolder('./drizzle');
 * migrations.map((m) => m.tag); // ['0000_brave_hulk', '0001_swift_storm']
 */
export function readMigrationFolder(folder: string): MigrationFile[] {
  const journalPath = join(folder, 'meta', '_journal.json');
  if (!existsSync(journalPath)) {
    throw new DsqlConfigError(
      'migrationsFolder',
      JSON.stringify(folder),
      'a drizzle-kit migrations folder (with meta/_journal.json, as written by `drizzle-kit generate`)',
    );
  }
  let journal: { entries?: JournalEntry[] };
  try {
    journal = JSON.parse(readFileSync(journalPath, 'utf8'));
  } catch (err) {
    throw new DsqlConfigError('migrationsFolder', `${JSON.stringify(journalPath)} (${(err as Error).message})`, 'a valid JSON journal', { cause: err });
  }
  const entries = Array.isArray(journal.entries) ? journal.entries : [];
  const seen = new Set<number>();
  return entries.map((entry, i) => {
    if (typeof entry.tag !== 'string' || typeof entry.when !== 'number' || !Number.isSafeInteger(entry.when)) {
      throw new DsqlConfigError(`journal entry ${i}`, JSON.stringify(entry), 'an entry with a string "tag" and an integer "when"');
    }
    if (seen.has(entry.when)) {
      throw new DsqlConfigError(`journal entry ${entry.tag}`, `"when" ${entry.when}, already used by another entry`, 'a distinct "when" per migration');
    }
    seen.add(entry.when);
    const file = `${entry.tag}.sql`;
    const path = join(folder, file);
    if (!existsSync(path)) {
      throw new DsqlConfigError('migrationsFolder', `no ${file} for journal entry ${entry.tag}`, 'a .sql file for every journal entry');
    }
    const sql = readFileSync(path, 'utf8');
    return { tag: entry.tag, file, when: entry.when, hash: createHash('sha256').update(sql).digest('hex'), sql };
  });
}
