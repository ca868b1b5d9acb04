import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { dsql, removeTemp, startTarget, tempFolder, type LocalTarget } from './support/cli.js';

let target: LocalTarget;
let work: string;

beforeAll(async () => {
  target = await startTarget();
  work = tempFolder();
}, 120_000);

afterAll(async () => {
  await target?.stop();
  removeTemp(work);
});

/** Straight on the PostgreSQL behind the endpoint: for set-up and assertions, outside the code under test. */
async function upstream(text: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: target.local.upstreamUrl });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

function folder(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  for (const [file, sql] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), sql);
  }
  return dir;
}

const migrate = (dir: string, ...more: string[]) => dsql(['migrate', dir, ...target.flags, ...more], { cwd: work });
const migrateOnTerminal = (dir: string) => dsql(['migrate', dir, ...target.flags], { cwd: work, tty: true });

describe('dsql migrate', () => {
  afterEach(async () => {
    await upstream(
      'DROP TABLE IF EXISTS mig_users, mig_posts, mig_late, mig_c, "User", "_prisma_migrations", dsql_migrations, dsql_migrations_lock, other_history, other_history_lock CASCADE',
    );
  });

  it('applies a plain SQL folder one statement per transaction, index jobs awaited, with progress; again is a no-op', async () => {
    const dir = folder('plain', {
      '0001_init.sql': [
        'CREATE TABLE mig_users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL);',
        'CREATE TABLE mig_posts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), author uuid NOT NULL, title text);',
        'CREATE INDEX mig_posts_author ON mig_posts (author);',
        "INSERT INTO mig_users (email) VALUES ('a@example.com');",
      ].join('\n'),
      '0002_fk.sql': 'ALTER TABLE mig_posts ADD CONSTRAINT mig_posts_author_fk FOREIGN KEY (author) REFERENCES mig_users (id);\n',
    });
    const run = await migrateOnTerminal(dir);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    // On a terminal, the job wait also shows a status line with its elapsed time.
    expect(run.statuses.some((s) => /^ {2}\[3\] waiting for job \S+ … \d+ s$/.test(s))).toBe(true);
    const lines = run.out.split('\n');
    expect(lines).toContain('0001_init: 4 statement(s)');
    expect(lines).toContain('  [3/4] CREATE INDEX ASYNC mig_posts_author ON mig_posts (author)');
    expect(lines.some((l) => /^ {2}\[3\] waiting for job \S+$/.test(l))).toBe(true);
    expect(lines).toContain('0002_fk: 2 statement(s)');
    expect(lines.some((l) => /^ {2}\[2\/2\] ALTER TABLE ASYNC "?mig_posts"? VALIDATE CONSTRAINT "?mig_posts_author_fk"?$/.test(l))).toBe(true);
    expect(lines.at(-1)).toBe('applied 2 migration(s), 6 statement(s): 0001_init, 0002_fk');
    expect(await upstream("SELECT indexname FROM pg_indexes WHERE tablename = 'mig_posts' AND indexname = 'mig_posts_author'")).toHaveLength(1);
    expect(await upstream("SELECT convalidated FROM pg_constraint WHERE conname = 'mig_posts_author_fk'")).toEqual([{ convalidated: true }]);
    expect(await upstream('SELECT tag, steps, done, finished_at IS NOT NULL AS finished FROM dsql_migrations ORDER BY created_at')).toEqual([
      { tag: '0001_init', steps: 4, done: 4, finished: true },
      { tag: '0002_fk', steps: 2, done: 2, finished: true },
    ]);
    const again = await migrate(dir);
    expect(again).toMatchObject({ code: 0, out: 'nothing to apply: all 2 migration(s) are applied', statuses: [] });
  });

  it('resumes a migration that stopped half-way at the statement it stopped at', async () => {
    const dir = folder('resume', {
      '0001_c.sql': 'CREATE TABLE mig_c (id uuid PRIMARY KEY);\nCREATE INDEX mig_late_x ON mig_late (x);\nCREATE TABLE mig_users (id uuid PRIMARY KEY);\n',
    });
    const first = await migrate(dir);
    expect(first.code).toBe(1);
    expect(first.err).toMatch(/mig_late/);
    expect(await upstream('SELECT started, done, finished_at FROM dsql_migrations')).toEqual([{ started: 2, done: 1, finished_at: null }]);
    await upstream('CREATE TABLE mig_late (x int)');
    const second = await migrate(dir);
    expect(second.err).toBe('');
    expect(second.code).toBe(0);
    expect(second.out).toContain('0001_c: 3 statement(s), resuming at 2');
    expect(second.out).not.toContain('[1/3]');
    expect(await upstream("SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('mig_c', 'mig_users')")).toEqual([{ n: 2 }]);
  });

  it('waits for the lease another run holds, and says who holds it when the wait runs out', async () => {
    const dir = folder('locked', { '0001_a.sql': 'CREATE TABLE mig_c (id uuid PRIMARY KEY);\n' });
    await upstream('CREATE TABLE other_history_lock (id integer PRIMARY KEY, holder text NOT NULL, expires_at timestamptz NOT NULL)');
    await upstream("INSERT INTO other_history_lock VALUES (1, 'deploy-box/4242', now() + interval '1 hour')");
    const run = await migrate(dir, '--migrations-table', 'other_history', '--lock-timeout', '1');
    expect(run.code).toBe(1);
    expect(run.out).toContain('waiting for the migration lock (held by deploy-box/4242');
    expect(run.err).toContain('Another dsql migrate (deploy-box/4242) holds the migration lock of public.other_history');
    expect(await upstream("SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'mig_c'")).toEqual([{ n: 0 }]);
  });

  it('applies nothing when DSQL would refuse a statement, listing each', async () => {
    const dir = folder('refused', {
      '0001_ok.sql': 'CREATE TABLE mig_c (id uuid PRIMARY KEY);\n',
      '0002_bad.sql': 'CREATE TABLE mig_users (id serial PRIMARY KEY);\nTRUNCATE mig_c;\n',
    });
    const run = await migrate(dir);
    expect(run.code).toBe(1);
    expect(run.err).toContain('DSQL would refuse 2 statement(s); nothing was applied');
    expect(run.err).toContain('refused/0002_bad.sql:1:1  serial-type');
    expect(run.err).toContain('refused/0002_bad.sql:2:1  unsupported-statement');
    expect(await upstream("SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('mig_c', 'dsql_migrations')")).toEqual([{ n: 0 }]);
  });

  it('names what is wrong with a folder (exit 2)', async () => {
    const dir = folder('unnumbered', { 'init.sql': 'SELECT 1;\n' });
    const run = await migrate(dir);
    expect(run.code).toBe(2);
    expect(run.err).toContain('the name must start with a number');
    expect((await dsql(['migrate', 'nowhere', ...target.flags], { cwd: work })).code).toBe(2);
    expect((await migrate(dir, '--lock-lease', '0')).err).toContain('--lock-lease: expected a number of seconds greater than 0 (got "0")');
  });

  it("applies a Prisma migrations folder and records it in _prisma_migrations as Prisma does", async () => {
    const init = [
      '-- CreateTable',
      'CREATE TABLE "User" (',
      '    "id" UUID NOT NULL DEFAULT gen_random_uuid(),',
      '    "email" TEXT NOT NULL,',
      '',
      '    CONSTRAINT "User_pkey" PRIMARY KEY ("id")',
      ');',
      '',
      '-- CreateIndex',
      'CREATE UNIQUE INDEX "User_email_key" ON "User"("email");',
      '',
    ].join('\n');
    const dir = folder('prisma/migrations', {
      'migration_lock.toml': 'provider = "postgresql"\n',
      '20261207100000_init/migration.sql': init,
      '20261207110000_name/migration.sql': '-- AlterTable\nALTER TABLE "User" ADD COLUMN "name" TEXT;\n',
    });
    const run = await migrate(dir);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain('  [2/2] CREATE UNIQUE INDEX ASYNC "User_email_key" ON "User"("email")');
    const rows = await upstream(
      'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at, logs, applied_steps_count, length(id) AS id_length FROM "_prisma_migrations" ORDER BY migration_name',
    );
    const sum = (f: string): string => createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
    expect(rows).toEqual([
      { migration_name: '20261207100000_init', checksum: sum('20261207100000_init/migration.sql'), finished: true, rolled_back_at: null, logs: null, applied_steps_count: 1, id_length: 36 },
      { migration_name: '20261207110000_name', checksum: sum('20261207110000_name/migration.sql'), finished: true, rolled_back_at: null, logs: null, applied_steps_count: 1, id_length: 36 },
    ]);
    expect(await upstream("SELECT column_name FROM information_schema.columns WHERE table_name = 'User' ORDER BY ordinal_position")).toEqual([
      { column_name: 'id' },
      { column_name: 'email' },
      { column_name: 'name' },
    ]);
    const again = await migrate(dir);
    expect(again).toMatchObject({ code: 0, out: 'nothing to apply: all 2 migration(s) are applied' });
    expect(await upstream('SELECT count(*)::int AS n FROM "_prisma_migrations"')).toEqual([{ n: 2 }]);
  });
});
