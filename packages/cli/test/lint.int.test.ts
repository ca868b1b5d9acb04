import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dsql, removeTemp, startTarget, tempFolder, type LocalTarget } from './support/cli.js';
import { generateMigrations } from './support/generate.js';

let drizzleDir: string;
let work: string;
let target: LocalTarget;

beforeAll(async () => {
  work = tempFolder();
  drizzleDir = join(work, 'drizzle');
  mkdirSync(drizzleDir);
  // The real drizzle-kit, offline: a DSQL-friendly schema, then one with a serial key and an enum.
  generateMigrations(drizzleDir, [
    { file: 'drizzle-schema-v1.ts', name: 'init' },
    { file: 'drizzle-schema-v2.ts', name: 'comments' },
  ]);
  target = await startTarget();
}, 120_000);

afterAll(async () => {
  await target?.stop();
  removeTemp(work);
});

/** Findings' `file:line:col  rule` heads, in order. */
const heads = (out: string): string[] => out.split('\n').filter((l) => /^\S+:\d+:\d+ {2}/.test(l) && !l.endsWith('  fixed')).map((l) => l.split('  ').slice(0, 2).join('  '));

/** Runs a SQL file through the real psql against the local endpoint, stopping at the first error. */
const psqlFile = (file: string) => dsql(['psql', ...target.flags, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file]);

describe('dsql lint', () => {
  it('reads a drizzle-kit folder: errors and rewrites with file:line:col, rule id, message and fix; exit 1', async () => {
    const run = await dsql(['lint', 'drizzle'], { cwd: work });
    expect(run.code).toBe(1);
    expect(heads(run.out)).toEqual([
      'drizzle/0000_init.sql:16:1  constraint-not-valid',
      'drizzle/0000_init.sql:17:1  create-index-async',
      'drizzle/0001_comments.sql:1:1  enum-type',
      'drizzle/0001_comments.sql:2:1  serial-type',
      'drizzle/0001_comments.sql:10:1  constraint-not-valid',
      'drizzle/0001_comments.sql:11:1  create-index-async',
    ]);
    expect(run.out).toContain('drizzle/0001_comments.sql:2:1  serial-type  column "id" is SERIAL');
    expect(run.out).toMatch(/\n {2}fix: Use a UUID key/);
    expect(run.out.split('\n').at(-1)).toBe('2 file(s), 8 statement(s): 2 error(s), 4 rewrite(s) needed');
  });

  it('--errors-only leaves the rewrites to the migrators: the DSQL-friendly migration passes', async () => {
    const clean = await dsql(['lint', '--errors-only', 'drizzle/0000_init.sql'], { cwd: work });
    expect(clean.code).toBe(0);
    expect(clean.out).toBe('1 file(s), 4 statement(s): 0 error(s), 0 rewrite(s) needed');
  });

  it('--format json lists files, kinds and findings', async () => {
    const run = await dsql(['lint', '--format', 'json', join(drizzleDir, '0001_comments.sql')], { cwd: work });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.out);
    expect(report.ok).toBe(false);
    expect(report.files).toHaveLength(1);
    expect(report.files[0]).toMatchObject({ file: 'drizzle/0001_comments.sql', kind: 'drizzle', statements: 4 });
    expect(report.files[0].findings[0]).toMatchObject({ line: 1, column: 1, rule: 'enum-type', severity: 'error', fixable: false });
    expect(typeof report.files[0].findings[0].fix).toBe('string');
  });

  it('--fix rewrites a drizzle-kit migration (ASYNC index, NOT VALID + VALIDATE, breakpoints) so it lints clean', async () => {
    const dir = join(work, 'fix-drizzle');
    generateMigrations(dir, [{ file: 'drizzle-schema-v1.ts', name: 'init' }]);
    const run = await dsql(['lint', '--fix', 'fix-drizzle'], { cwd: work });
    expect(run.code).toBe(0);
    expect(run.out.split('\n').slice(0, 2)).toEqual(['fix-drizzle/0000_init.sql:16:1  constraint-not-valid  fixed', 'fix-drizzle/0000_init.sql:17:1  create-index-async  fixed']);
    expect(heads(run.out)).toEqual([]);
    const sql = readFileSync(join(dir, '0000_init.sql'), 'utf8');
    expect(sql).toContain('CREATE INDEX ASYNC "blog_posts_author_idx"');
    expect(sql).toMatch(/NOT VALID;\n--> statement-breakpoint\nALTER TABLE ASYNC "blog_posts" VALIDATE CONSTRAINT/);
    expect((await dsql(['lint', 'fix-drizzle'], { cwd: work })).code).toBe(0);
  });

  it('a psql script DSQL refuses runs on the endpoint after --fix (index ASYNC, DDL split out of BEGIN … COMMIT)', async () => {
    const file = join(work, 'script.sql');
    writeFileSync(
      file,
      [
        'CREATE TABLE lint_items (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);',
        'CREATE INDEX lint_items_name ON lint_items (name);',
        'BEGIN;',
        'CREATE TABLE lint_tags (id uuid PRIMARY KEY, tag text);',
        'CREATE TABLE lint_links (item uuid, tag uuid, PRIMARY KEY (item, tag));',
        'COMMIT;',
        '',
      ].join('\n'),
    );
    const lint = await dsql(['lint', 'script.sql'], { cwd: work });
    expect(lint.code).toBe(1);
    expect(heads(lint.out)).toEqual(['script.sql:2:1  create-index-async', 'script.sql:5:1  multiple-ddl-in-transaction']);
    // What DSQL says of the file as it is (the local endpoint applies DSQL's rules).
    const before = await psqlFile(file);
    expect(before.code).not.toBe(0);
    expect(before.err).toContain('CREATE INDEX ASYNC');
    writeFileSync(join(work, 'drop.sql'), 'DROP TABLE IF EXISTS lint_items;\nDROP TABLE IF EXISTS lint_tags;\nDROP TABLE IF EXISTS lint_links;\n');
    expect((await psqlFile(join(work, 'drop.sql'))).code).toBe(0);

    const fix = await dsql(['lint', '--fix', 'script.sql'], { cwd: work });
    expect(fix.code).toBe(0);
    expect(fix.out.split('\n').at(-1)).toBe('1 file(s), 8 statement(s): 0 error(s), 0 rewrite(s) needed; fixed 2; cannot fix 0 (nothing left)');
    expect(readFileSync(file, 'utf8')).toBe(
      [
        'CREATE TABLE lint_items (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);',
        'CREATE INDEX ASYNC lint_items_name ON lint_items (name);',
        'BEGIN;',
        'CREATE TABLE lint_tags (id uuid PRIMARY KEY, tag text);',
        'COMMIT;',
        'BEGIN;',
        'CREATE TABLE lint_links (item uuid, tag uuid, PRIMARY KEY (item, tag));',
        'COMMIT;',
        '',
      ].join('\n'),
    );
    const after = await psqlFile(file);
    expect(after.err).toBe('');
    expect(after.code).toBe(0);
  });

  it('reads a Prisma migrations folder: several DDL in one migration.sql is an error --fix cannot fix', async () => {
    // What `prisma migrate dev` writes (its schema engine is a download, so not run offline here).
    const dir = join(work, 'prisma', 'migrations', '20261207100000_init');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(work, 'prisma', 'migrations', 'migration_lock.toml'), 'provider = "postgresql"\n');
    const original = [
      '-- CreateTable',
      'CREATE TABLE "User" (',
      '    "id" UUID NOT NULL,',
      '    "email" TEXT NOT NULL,',
      '',
      '    CONSTRAINT "User_pkey" PRIMARY KEY ("id")',
      ');',
      '',
      '-- CreateIndex',
      'CREATE UNIQUE INDEX "User_email_key" ON "User"("email");',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'migration.sql'), original);
    const run = await dsql(['lint', '--fix', 'prisma/migrations'], { cwd: work });
    expect(run.code).toBe(1);
    const file = 'prisma/migrations/20261207100000_init/migration.sql';
    expect(run.out).toContain(`${file}:10:1  create-index-async  fixed`);
    expect(heads(run.out)).toEqual([`${file}:10:1  multiple-ddl-in-transaction`]);
    expect(run.out).toContain('Prisma sends migration.sql as one script');
    expect(run.out).toContain('fix: Split the migration into one migration folder per DDL statement');
    expect(run.out.split('\n').at(-1)).toMatch(/fixed 1; cannot fix 1 \(they need a decision/);
    expect(readFileSync(join(dir, 'migration.sql'), 'utf8')).toContain('CREATE UNIQUE INDEX ASYNC "User_email_key"');
  });

  it('bad usage exits 2 naming what is wrong', async () => {
    const missing = await dsql(['lint', 'nowhere'], { cwd: work });
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('"nowhere": no such file or folder');
    const format = await dsql(['lint', '--format', 'xml', 'script.sql'], { cwd: work });
    expect(format.code).toBe(2);
    expect(format.err).toContain('--format: got "xml"; expected text or json');
    expect((await dsql(['lint'], { cwd: work })).code).toBe(2);
    const help = await dsql(['lint', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Examples:');
  });
});
