import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDsqlError } from '@dsql/core';
import { checkMigrations, formatProblems, migrate, type MigratableDatabase } from '@dsql/drizzle/migrator';
import { runCli } from '../src/cli-main.js';
import { readMigrationFolder } from '../src/migrations/journal.js';
import { generateMigrations, removeFolder, tempFolder } from './support/generate.js';

let generated: string;
const made: string[] = [];

beforeAll(() => {
  generated = tempFolder();
  generateMigrations(generated, [
    { file: 'schema-v1.ts', name: 'init' },
    { file: 'schema-v2.ts', name: 'more' },
  ]);
}, 60_000);

afterAll(() => {
  removeFolder(generated);
  made.forEach(removeFolder);
});

/** A migrations folder with these files, in journal order. */
function folderWith(files: Record<string, string>, breakpoints = true): string {
  const dir = tempFolder();
  made.push(dir);
  mkdirSync(join(dir, 'meta'));
  const entries = Object.keys(files).map((tag, idx) => ({ idx, version: '7', when: 1_700_000_000_000 + idx, tag, breakpoints }));
  writeFileSync(join(dir, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'postgresql', entries }));
  for (const [tag, sql] of Object.entries(files)) writeFileSync(join(dir, `${tag}.sql`), sql);
  return dir;
}

function capture(): { out: string[]; err: string[]; io: { out: (t: string) => void; err: (t: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t) => out.push(t), err: (t) => err.push(t) } };
}

describe('checkMigrations', () => {
  it('passes what drizzle-kit generates for a DSQL-friendly schema, listing what migrate() rewrites', async () => {
    const report = await checkMigrations(generated);
    expect(report.ok).toBe(true);
    expect(report.migrations).toEqual([
      { tag: '0000_init', file: '0000_init.sql', statements: 5 },
      { tag: '0001_more', file: '0001_more.sql', statements: 5 },
    ]);
    expect(report.problems.map((p) => [p.file, p.severity, p.message.slice(0, 40)])).toEqual([
      ['0000_init.sql', 'rewrite', 'DSQL adds a FOREIGN KEY constraint to an'],
      ['0000_init.sql', 'rewrite', 'DSQL builds indexes asynchronously: sent'],
      ['0001_more.sql', 'rewrite', 'DSQL adds a FOREIGN KEY constraint to an'],
      ['0001_more.sql', 'rewrite', 'DSQL builds indexes asynchronously: sent'],
    ]);
  });

  it('reports refusals with file, line, statement and fix, across files', async () => {
    const dir = folderWith({
      '0000_a': 'CREATE TABLE "ok" ("id" uuid PRIMARY KEY);\n--> statement-breakpoint\nCREATE TABLE "c" (\n\t"id" serial PRIMARY KEY NOT NULL\n);',
      '0001_b': 'ALTER TABLE "ok" ADD COLUMN "n" integer NOT NULL;--> statement-breakpoint\nCREATE INDEX "i" ON "ok" ("id");',
    });
    const report = await checkMigrations(dir);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({ severity: 'error', file: '0000_a.sql', line: 3, statement: 'CREATE TABLE "c" (\n\t"id" serial PRIMARY KEY NOT NULL\n)' }),
      expect.objectContaining({ severity: 'error', file: '0001_b.sql', line: 1, statement: 'ALTER TABLE "ok" ADD COLUMN "n" integer NOT NULL' }),
      expect.objectContaining({ severity: 'rewrite', file: '0001_b.sql', line: 2 }),
    ]);
    const text = formatProblems(report.problems);
    expect(text).toContain('0000_a.sql:3  error: column "id" is SERIAL');
    expect(text).toContain('    fix: Use a UUID key');
  });

  it("words each fix for a Drizzle schema (core's linter judges, Drizzle's fixes replace its SQL ones)", async () => {
    const dir = folderWith({
      '0000_a': [
        'CREATE TYPE "public"."mood" AS ENUM(\'sad\', \'happy\');',
        'CREATE TABLE "s" ("id" serial PRIMARY KEY);',
        'CREATE TABLE "i" ("id" integer GENERATED ALWAYS AS IDENTITY (CACHE 1));',
        'CREATE TABLE "c" ("id" bigint GENERATED ALWAYS AS IDENTITY);',
        'ALTER TABLE "c" ADD COLUMN "n" integer DEFAULT 0;',
        'BEGIN;',
        "DO $$ BEGIN CREATE TYPE x AS ENUM ('a'); EXCEPTION WHEN duplicate_object THEN null; END $$;",
        'TRUNCATE "c";',
      ].join('\n--> statement-breakpoint\n'),
      '0001_b': 'SELECT 1; CREATE INDEX ASYNC i ON c (id);',
    });
    const report = await checkMigrations(dir);
    expect(report.problems.map((p) => [p.line, p.fix])).toEqual([
      [1, expect.stringContaining("text('status', { enum: ['a', 'b'] })")],
      [3, expect.stringContaining("uuid('id').primaryKey().defaultRandom()")],
      [5, expect.stringContaining("bigint('…', { mode: 'number' }).generatedAlwaysAsIdentity({ cache: 1 })")],
      [7, expect.stringContaining('Pass the cache to Drizzle')],
      [9, expect.stringContaining('without .notNull()/.default()')],
      [11, expect.stringContaining('migrate() runs every statement in its own transaction')],
      [13, expect.stringContaining('regenerate with a current drizzle-kit')],
      [15, expect.stringContaining('DELETE FROM in batches')], // core's fix: nothing Drizzle-specific to say
      [1, expect.stringContaining('after its own "--> statement-breakpoint"')],
    ]);
  });

  it('splits files written without breakpoints and checks every statement', async () => {
    const dir = folderWith({ '0000_x': 'CREATE TABLE a (id uuid PRIMARY KEY);\nCREATE TABLE b (tags text[]);\nCREATE INDEX i ON a (id);' }, false);
    const report = await checkMigrations(dir);
    expect(report.migrations[0]!.statements).toBe(2); // the refused one is not counted
    expect(report.problems.map((p) => [p.line, p.severity])).toEqual([
      [2, 'error'],
      [3, 'rewrite'],
    ]);
  });

  it('reports a syntax error as a problem of its file', async () => {
    const report = await checkMigrations(folderWith({ '0000_bad': 'CREATE TABL x ();' }));
    expect(report.problems).toEqual([expect.objectContaining({ severity: 'error', file: '0000_bad.sql', line: 1, message: expect.stringMatching(/syntax error/) })]);
  });

  it('names the field and the folder when the journal is missing, and the file when one is missing', async () => {
    const missing = await checkMigrations('/nonexistent/migrations').catch((e: unknown) => e);
    expect(isDsqlError(missing, 'invalid-config')).toBe(true);
    expect((missing as Error).message).toMatch(/migrationsFolder.*\/nonexistent\/migrations.*meta\/_journal\.json/);
    const dir = folderWith({ '0000_a': 'SELECT 1' });
    removeFolder(join(dir, '0000_a.sql'));
    expect(() => readMigrationFolder(dir)).toThrow(/no 0000_a\.sql for journal entry 0000_a/);
  });

  it("hashes each file as Drizzle does (sha256 of the file) and keeps the journal's order", () => {
    const files = readMigrationFolder(generated);
    expect(files.map((f) => f.tag)).toEqual(['0000_init', '0001_more']);
    expect(files[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(files[0]!.when).toBeLessThan(files[1]!.when);
  });
});

describe('dsql-drizzle check', () => {
  it('exits 0 for a clean folder and prints the summary', async () => {
    const { out, io } = capture();
    expect(await runCli(['check', generated], io)).toBe(0);
    expect(out.at(-1)).toBe('2 migration(s), 10 statement(s): 0 error(s), 4 rewritten for DSQL by migrate().');
  });

  it('exits 1 when something would be refused; --json prints the report', async () => {
    const dir = folderWith({ '0000_a': 'TRUNCATE t' });
    const text = capture();
    expect(await runCli(['check', dir], text.io)).toBe(1);
    expect(text.out.join('\n')).toMatch(/0000_a\.sql:1 {2}error: DSQL does not support TRUNCATE/);
    const json = capture();
    expect(await runCli(['check', dir, '--json'], json.io)).toBe(1);
    expect(JSON.parse(json.out[0]!)).toMatchObject({ ok: false, problems: [{ file: '0000_a.sql', severity: 'error' }] });
  });

  it('defaults to ./drizzle, and exits 2 on bad usage or an unreadable folder', async () => {
    const usage = capture();
    expect(await runCli(['lint'], usage.io)).toBe(2);
    expect(usage.err[0]).toMatch(/Usage: dsql-drizzle check/);
    const missing = capture();
    expect(await runCli(['check'], missing.io, '/nonexistent')).toBe(2);
    expect(missing.err[0]).toMatch(/\/nonexistent\/drizzle/);
  });
});

describe('migrate() options', () => {
  // Options are checked before the database is touched: this database fails any use.
  const untouchable = new Proxy({}, { get: () => { throw new Error('database used'); } }) as MigratableDatabase;

  it.each([
    [{ migrationsFolder: 42 }, /Invalid migrationsFolder: got 42; expected the path of a drizzle-kit migrations folder/],
    [{ migrationsFolder: 'x', migrationsTable: '' }, /Invalid migrationsTable: got ""; expected a non-empty identifier/],
    [{ migrationsFolder: 'x', migrationsSchema: 'a'.repeat(60) }, /Invalid migrationsSchema/],
    [{ migrationsFolder: 'x', lockLeaseSeconds: 0 }, /Invalid lockLeaseSeconds: got 0; expected a number of seconds greater than 0/],
    [{ migrationsFolder: 'x', lockTimeoutSeconds: Number.NaN }, /Invalid lockTimeoutSeconds/],
    [{ migrationsFolder: 'x', jobTimeoutSeconds: -5 }, /Invalid jobTimeoutSeconds: got -5/],
  ])('%j', async (config, message) => {
    const error = await migrate(untouchable, config as never).catch((e: unknown) => e);
    expect(isDsqlError(error, 'invalid-config')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});
