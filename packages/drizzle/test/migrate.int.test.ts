import { jest } from '@jest/globals';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrate, MigrationCheckError, MigrationLockError, type MigrationEvent } from '@dsql/drizzle/migrator';
import { generateMigrations, removeFolder, tempFolder } from './support/generate.js';
import { createDsqlRules } from '@dsql/local';
import { adminQuery, openDb, resetDatabase, startDsqlLocal, type DsqlLocal, type DriverDb } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
let folder: string;
const open: DriverDb[] = [];

beforeAll(async () => {
  folder = tempFolder();
  generateMigrations(folder, [
    { file: 'schema-v1.ts', name: 'init' },
    { file: 'schema-v2.ts', name: 'more' },
  ]);
  local = await startDsqlLocal();
});

afterAll(async () => {
  await local?.stop();
  removeFolder(folder);
});

beforeEach(async () => {
  await resetDatabase(local);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

function db(options: Record<string, unknown> = {}, driver: 'node-postgres' | 'postgres-js' = 'node-postgres'): DriverDb['db'] {
  const d = openDb(driver, local, options);
  open.push(d);
  return d.db;
}

/** The (tag, step) of every statement event. */
const statementsOf = (events: MigrationEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'statement' ? [`${e.tag}#${e.step}`] : []));

/** What the migrations should have built, read from the upstream catalog. */
async function expectBlogSchema(): Promise<void> {
  const tables = await adminQuery(local, `SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'blog_%' ORDER BY 1`);
  expect(tables.map((r) => r.table_name)).toEqual(['blog_comments', 'blog_posts', 'blog_users']);
  const indexes = await adminQuery(
    local,
    `SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ('blog_posts_author_idx', 'blog_posts_title_idx') ORDER BY 1`,
  );
  expect(indexes).toEqual([
    { relname: 'blog_posts_author_idx', indisvalid: true },
    { relname: 'blog_posts_title_idx', indisvalid: true },
  ]);
  const fks = await adminQuery(local, `SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' AND conname LIKE 'blog_%' ORDER BY 1`);
  expect(fks).toEqual([
    { conname: 'blog_comments_post_id_blog_posts_id_fk', convalidated: true },
    { conname: 'blog_posts_author_id_blog_users_id_fk', convalidated: true },
  ]);
  const columns = await adminQuery(local, `SELECT column_name FROM information_schema.columns WHERE table_name = 'blog_users' AND column_name = 'bio'`);
  expect(columns).toHaveLength(1);
}

async function tracking(): Promise<Record<string, unknown>[]> {
  return adminQuery(local, `SELECT tag, steps, started, done, finished_at IS NOT NULL AS finished FROM drizzle.__drizzle_migrations ORDER BY created_at`);
}

it('applies drizzle-kit migrations under the DSQL rules, statement by statement; applying again is a no-op', async () => {
  const events: MigrationEvent[] = [];
  const first = await migrate(db(), { migrationsFolder: folder, onEvent: (e) => events.push(e) });
  expect(first.applied).toEqual([expect.stringMatching(/^0000_init$/), expect.stringMatching(/^0001_more$/)]);
  // 0000: 2 tables, FK NOT VALID + VALIDATE, index; 0001: table, column, FK NOT VALID + VALIDATE, index.
  expect(first.statements).toBe(10);
  expect(statementsOf(events)).toHaveLength(10);
  const sent = events.flatMap((e) => (e.type === 'statement' ? [e.sql] : []));
  expect(sent).toContain('CREATE INDEX ASYNC "blog_posts_author_idx" ON "blog_posts" USING btree ("author_id")');
  expect(sent.filter((s) => s.startsWith('ALTER TABLE ASYNC'))).toHaveLength(2);
  expect(events.filter((e) => e.type === 'job')).toHaveLength(4);
  await expectBlogSchema();
  expect(await tracking()).toEqual([
    { tag: '0000_init', steps: 5, started: 5, done: 5, finished: true },
    { tag: '0001_more', steps: 5, started: 5, done: 5, finished: true },
  ]);
  // The lock was given back.
  expect(await adminQuery(local, 'SELECT * FROM drizzle.__drizzle_migrations_lock')).toEqual([]);

  const again: MigrationEvent[] = [];
  const second = await migrate(db(), { migrationsFolder: folder, onEvent: (e) => again.push(e) });
  expect(second).toEqual({ applied: [], statements: 0 });
  expect(again).toEqual([]);
});

it('applies the same migrations through the postgres-js driver, into a chosen tracking table', async () => {
  const result = await migrate(db({}, 'postgres-js'), { migrationsFolder: folder, migrationsSchema: 'ops', migrationsTable: 'schema_history' });
  expect(result).toEqual({ applied: ['0000_init', '0001_more'], statements: 10 });
  await expectBlogSchema();
  expect(await adminQuery(local, 'SELECT tag, done, finished_at IS NOT NULL AS finished FROM ops.schema_history ORDER BY created_at')).toEqual([
    { tag: '0000_init', done: 5, finished: true },
    { tag: '0001_more', done: 5, finished: true },
  ]);
  expect(await migrate(db({}, 'postgres-js'), { migrationsFolder: folder, migrationsSchema: 'ops', migrationsTable: 'schema_history' })).toEqual({
    applied: [],
    statements: 0,
  });
  await resetDatabase(local, ['drizzle', 'ops']);
});

it('resumes a run killed in the middle (statement applied, not recorded, lock left behind) where it stopped', async () => {
  const events: MigrationEvent[] = [];
  const killed = migrate(db(), {
    migrationsFolder: folder,
    lockLeaseSeconds: 1,
    // One attempt each: giving the lock back is otherwise retried after a lost connection.
    retry: { maxAttempts: 1 },
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'statement' && e.tag === '0000_init' && e.step === 3) {
        // The FK statement runs; then the connection dies as its progress is recorded, and the
        // lock is never given back: what a killed process leaves behind.
        local.inject({ on: 'query', match: /SET done =/, drop: true });
        local.inject({ on: 'query', match: /DELETE FROM "drizzle"\."__drizzle_migrations_lock"/, drop: true });
      }
    },
  });
  await expect(killed).rejects.toThrow();
  expect(statementsOf(events)).toEqual(['0000_init#1', '0000_init#2', '0000_init#3']);
  expect(await tracking()).toEqual([{ tag: '0000_init', steps: 5, started: 3, done: 2, finished: false }]);
  expect(await adminQuery(local, 'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations_lock')).toEqual([{ n: 1 }]);

  const resumed: MigrationEvent[] = [];
  const result = await migrate(db(), { migrationsFolder: folder, onEvent: (e) => resumed.push(e) });
  expect(result.applied).toEqual(['0000_init', '0001_more']);
  const acquired = resumed.find((e) => e.type === 'lock-acquired');
  expect(acquired).toMatchObject({ tookOverFrom: expect.any(String) });
  expect(resumed.find((e) => e.type === 'migration-start')).toMatchObject({ tag: '0000_init', resumeAt: 3 });
  // The uncertain statement ran again and was found applied; nothing before it ran again.
  expect(resumed.filter((e) => e.type === 'statement-assumed-applied')).toEqual([
    expect.objectContaining({ tag: '0000_init', step: 3, sqlstate: '42710' }),
  ]);
  expect(statementsOf(resumed)).toEqual([
    '0000_init#3', '0000_init#4', '0000_init#5',
    '0001_more#1', '0001_more#2', '0001_more#3', '0001_more#4', '0001_more#5',
  ]);
  await expectBlogSchema();
  expect(await tracking()).toEqual([
    { tag: '0000_init', steps: 5, started: 5, done: 5, finished: true },
    { tag: '0001_more', steps: 5, started: 5, done: 5, finished: true },
  ]);
});

it('two concurrent migrate() calls apply each statement once', async () => {
  const a: MigrationEvent[] = [];
  const b: MigrationEvent[] = [];
  const [ra, rb] = await Promise.all([
    migrate(db(), { migrationsFolder: folder, onEvent: (e) => a.push(e) }),
    migrate(db(), { migrationsFolder: folder, onEvent: (e) => b.push(e) }),
  ]);
  const all = [...statementsOf(a), ...statementsOf(b)].sort();
  expect(all).toHaveLength(10);
  expect(new Set(all).size).toBe(10);
  expect([...ra.applied, ...rb.applied].sort()).toEqual(['0000_init', '0001_more']);
  expect(ra.statements + rb.statements).toBe(10);
  await expectBlogSchema();
});

it('a migrate() started while another one runs waits for its lock, then finds the work done', async () => {
  const a: MigrationEvent[] = [];
  const b: MigrationEvent[] = [];
  let second: Promise<unknown> | undefined;
  const first = await migrate(db(), {
    migrationsFolder: folder,
    onEvent: (e) => {
      a.push(e);
      // The first statement is under way: start the second run now.
      if (e.type === 'statement' && e.step === 1 && !second) second = migrate(db(), { migrationsFolder: folder, onEvent: (x) => b.push(x) });
    },
  });
  expect(first).toEqual({ applied: ['0000_init', '0001_more'], statements: 10 });
  expect(await second).toEqual({ applied: [], statements: 0 });
  expect(b.map((e) => e.type)).toEqual(['lock-wait', 'lock-acquired']);
  await expectBlogSchema();
});

it('reports statements DSQL would refuse before anything runs, with the file, the statement and the fix', async () => {
  const bad = tempFolder();
  try {
    mkdirSync(join(bad, 'meta'));
    writeFileSync(
      join(bad, 'meta', '_journal.json'),
      JSON.stringify({ version: '7', dialect: 'postgresql', entries: [{ idx: 0, version: '7', when: 1700000000000, tag: '0000_bad', breakpoints: true }] }),
    );
    writeFileSync(
      join(bad, '0000_bad.sql'),
      [
        'CREATE TABLE "fine" ("id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL);',
        '--> statement-breakpoint',
        `CREATE TYPE "public"."mood" AS ENUM('sad', 'ok', 'happy');`,
        '--> statement-breakpoint',
        'CREATE TABLE "counters" (',
        '  "id" serial PRIMARY KEY NOT NULL',
        ');',
      ].join('\n'),
    );
    const error = await migrate(db(), { migrationsFolder: bad }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationCheckError);
    const problems = (error as MigrationCheckError).problems;
    expect(problems).toEqual([
      expect.objectContaining({ file: '0000_bad.sql', line: 3, statement: expect.stringContaining('CREATE TYPE'), fix: expect.stringContaining("text('status', { enum:") }),
      expect.objectContaining({ file: '0000_bad.sql', line: 5, statement: expect.stringContaining('serial'), fix: expect.stringContaining('defaultRandom()') }),
    ]);
    expect((error as Error).message).toContain('0000_bad.sql:3');
    // Nothing ran: neither the fine table nor the tracking table exists.
    expect(await adminQuery(local, `SELECT table_name FROM information_schema.tables WHERE table_name IN ('fine', '__drizzle_migrations')`)).toEqual([]);
  } finally {
    removeFolder(bad);
  }
});

/** A folder with the first `count` migrations of the generated one. */
function firstMigrations(count: number): string {
  const dir = tempFolder();
  mkdirSync(join(dir, 'meta'));
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8'));
  journal.entries = journal.entries.slice(0, count);
  writeFileSync(join(dir, 'meta', '_journal.json'), JSON.stringify(journal));
  for (const entry of journal.entries) copyFileSync(join(folder, `${entry.tag}.sql`), join(dir, `${entry.tag}.sql`));
  return dir;
}

it('waits for a live lock held by another process, then gives up naming the holder; nothing runs', async () => {
  const first = firstMigrations(1);
  try {
    expect((await migrate(db(), { migrationsFolder: first })).applied).toEqual(['0000_init']);
    await adminQuery(local, `INSERT INTO drizzle.__drizzle_migrations_lock VALUES (1, 'deploy-7/4242/abcd', now() + interval '1 hour')`);
    const events: MigrationEvent[] = [];
    const error = await migrate(db(), { migrationsFolder: folder, lockTimeoutSeconds: 0.3, onEvent: (e) => events.push(e) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationLockError);
    expect((error as Error).message).toMatch(/Another migrate\(\) \(deploy-7\/4242\/abcd\) holds the migration lock/);
    expect(events.map((e) => e.type)).toEqual(['lock-wait']);
    expect((await tracking()).map((r) => r.tag)).toEqual(['0000_init']);
  } finally {
    removeFolder(first);
  }
});


describe('with jobs that take a while', () => {
  // Index builds and validations take 2.5 s here, so a test can act while one runs.
  let slow: DsqlLocal;
  const dbs: DriverDb[] = [];
  const slowDb = (): DriverDb['db'] => {
    const d = openDb('node-postgres', slow);
    dbs.push(d);
    return d.db;
  };
  beforeAll(async () => {
    slow = await startDsqlLocal({ rules: createDsqlRules({ asyncJobMs: 2500 }) });
  });
  beforeEach(async () => {
    await resetDatabase(slow);
  });
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((d) => d.close()));
  });
  afterAll(async () => {
    await slow?.stop();
  });

  it('stops before recording anything once its lease was taken over', async () => {
    const error = await migrate(slowDb(), {
      migrationsFolder: folder,
      onEvent: (e) => {
        if (e.type === 'job' && e.step === 4) {
          // While this run waits for the validation job (jobs take 2.5 s here), another
          // process takes its lease over, as if this one had been paused past its lease.
          void adminQuery(slow, `UPDATE drizzle.__drizzle_migrations_lock SET holder = 'thief'`);
        }
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationLockError);
    expect((error as Error).message).toMatch(/lock .* was lost/);
    // Statement 4 ran but was not recorded: a later run will treat it as the uncertain one.
    expect(await adminQuery(slow, 'SELECT tag, steps, started, done FROM drizzle.__drizzle_migrations')).toEqual([{ tag: '0000_init', steps: 5, started: 4, done: 3 }]);
    // The thief's lock is left alone.
    expect(await adminQuery(slow, 'SELECT holder FROM drizzle.__drizzle_migrations_lock')).toEqual([{ holder: 'thief' }]);
  });

  it('a run that dies while an index job runs: the resumed run waits for that job before going on', async () => {
    {
      const first = firstMigrations(1);
      try {
        const events: MigrationEvent[] = [];
        const died = migrate(slowDb(), {
          migrationsFolder: first,
          onEvent: (e) => {
            events.push(e);
            // The index build (step 5) was submitted; the connection dies while it is awaited.
            if (e.type === 'job' && e.step === 5) slow.inject({ on: 'query', match: /FROM sys\.jobs/, drop: true });
          },
        });
        await expect(died).rejects.toThrow();
        const submitted = events.find((e) => e.type === 'job' && e.step === 5) as { jobId: string };

        const resumed: MigrationEvent[] = [];
        await migrate(slowDb(), { migrationsFolder: first, onEvent: (e) => resumed.push(e) });
        expect(resumed.filter((e) => e.type === 'statement-assumed-applied')).toEqual([
          expect.objectContaining({ step: 5, sqlstate: '42P07' }),
        ]);
        expect(resumed).toContainEqual({ type: 'job', tag: '0000_init', step: 5, jobId: submitted.jobId });
        expect(resumed.findIndex((e) => e.type === 'job')).toBeLessThan(resumed.findIndex((e) => e.type === 'migration-done'));
        const [job] = await slowDb().execute(`SELECT status FROM sys.jobs WHERE job_id = '${submitted.jobId}'`).then((r) => (r as { rows: { status: string }[] }).rows);
        expect(job).toEqual({ status: 'completed' });
      } finally {
        removeFolder(first);
      }
    }
  });
});
