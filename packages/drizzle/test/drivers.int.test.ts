import { jest } from '@jest/globals';
import { eq, sql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { isCommitOutcomeUnknownError, isDsqlError, isOccError } from '@dsql/core';
import { drizzle as drizzlePg, transaction } from '@dsql/drizzle';
import { drizzle as drizzlePostgresJs } from '@dsql/drizzle/postgres-js';
import { migrate } from '@dsql/drizzle/migrator';
import * as schema from './fixtures/schema-v2.js';
import { generateMigrations, removeFolder, tempFolder } from './support/generate.js';
import { resetDatabase, startDsqlLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
let folder: string;

const counters = pgTable('hot_counters', { id: text('id').primaryKey(), n: integer('n').notNull() });

beforeAll(async () => {
  folder = tempFolder();
  generateMigrations(folder, [
    { file: 'schema-v1.ts', name: 'init' },
    { file: 'schema-v2.ts', name: 'more' },
  ]);
  local = await startDsqlLocal();
  await resetDatabase(local);
  const setup = drizzlePg({ connection: local.connectionOptions() });
  try {
    await migrate(setup, { migrationsFolder: folder });
    await setup.execute(sql`CREATE TABLE hot_counters (id text PRIMARY KEY, n integer NOT NULL)`);
  } finally {
    await setup.$client.end();
  }
});

afterAll(async () => {
  await local?.stop();
  removeFolder(folder);
});

type Db = ReturnType<typeof drizzlePg<typeof schema>> | ReturnType<typeof drizzlePostgresJs<typeof schema>>;

const drivers: Array<[string, (options?: Record<string, unknown>) => { db: Db; close: () => Promise<void> }]> = [
  [
    'node-postgres',
    (options = {}) => {
      const db = drizzlePg({ connection: { ...local.connectionOptions(), max: 8 }, schema, ...options });
      return { db, close: () => db.$client.end() };
    },
  ],
  [
    'postgres-js',
    (options = {}) => {
      const db = drizzlePostgresJs({ connection: { ...local.connectionOptions(), max: 8, onnotice: () => undefined }, schema, ...options });
      // After a dropped connection, sql.end() waits out its whole timeout: keep it short.
      return { db, close: () => db.$client.end({ timeout: 1 }) };
    },
  ],
];

describe.each(drivers)('%s', (driver, open) => {
  // Each driver works on its own rows.
  const email = (who: string): string => `${who}@${driver}.example`;

  it('runs CRUD and relational queries on the migrated schema', async () => {
    const { db, close } = open();
    try {
      const [ada] = await db.insert(schema.users).values({ name: 'Ada', email: email('ada') }).returning();
      const [bob] = await db.insert(schema.users).values({ name: 'Bob', email: email('bob') }).returning();
      expect(ada!.id).toMatch(/^[0-9a-f-]{36}$/);
      await db.insert(schema.posts).values([
        { authorId: ada!.id, title: `${driver}: engines`, stars: 3 },
        { authorId: ada!.id, title: `${driver}: notes`, stars: 1 },
        { authorId: bob!.id, title: `${driver}: poems` },
      ]);
      await db.update(schema.posts).set({ stars: sql`${schema.posts.stars} + 1` }).where(eq(schema.posts.title, `${driver}: notes`));
      await db.update(schema.users).set({ bio: 'mathematician' }).where(eq(schema.users.id, ada!.id));

      const found = await db.query.users.findFirst({
        where: eq(schema.users.email, email('ada')),
        columns: { name: true, bio: true },
        with: { posts: { columns: { title: true, stars: true }, orderBy: (p, { asc }) => [asc(p.title)] } },
      });
      expect(found).toEqual({
        name: 'Ada',
        bio: 'mathematician',
        posts: [
          { title: `${driver}: engines`, stars: 3 },
          { title: `${driver}: notes`, stars: 2 },
        ],
      });
      const withAuthor = await db.query.posts.findFirst({ where: eq(schema.posts.title, `${driver}: poems`), with: { author: true } });
      expect(withAuthor?.author.name).toBe('Bob');

      // The foreign key added NOT VALID and validated by migrate() is enforced.
      const orphan = await db
        .insert(schema.posts)
        .values({ authorId: '00000000-0000-4000-8000-000000000000', title: 'orphan' })
        .then(() => undefined, (e: unknown) => e);
      expect(String((orphan as { cause?: { code?: string } })?.cause?.code)).toBe('23503');

      await db.delete(schema.posts).where(eq(schema.posts.authorId, bob!.id));
      await db.delete(schema.users).where(eq(schema.users.id, bob!.id));
      expect(await db.select({ name: schema.users.name }).from(schema.users).where(eq(schema.users.email, email('bob')))).toEqual([]);
    } finally {
      await close();
    }
  });

  it('refuses nested transactions and other isolation levels before anything is sent', async () => {
    const { db, close } = open();
    try {
      await db.execute(sql`SELECT 1`); // connected (Postgres.js reads type information on its first connection)
      const before = local.stats().queries;
      const nested = await db
        .transaction(async (tx) => {
          await tx.transaction(async () => undefined);
        })
        .then(() => undefined, (e: unknown) => e);
      expect(isDsqlError(nested, 'unsupported-feature')).toBe(true);
      expect((nested as Error).message).toMatch(/SAVEPOINT/);
      const serializable = await db.transaction(async () => undefined, { isolationLevel: 'serializable' }).then(() => undefined, (e: unknown) => e);
      expect(isDsqlError(serializable, 'unsupported-feature')).toBe(true);
      // BEGIN, ROLLBACK of the nested case, nothing for the refused isolation level; no SAVEPOINT.
      expect(local.stats().queries - before).toBeLessThanOrEqual(2);
      // Repeatable read is what DSQL runs anyway: accepted.
      expect(await db.transaction(async () => 'ok', { isolationLevel: 'repeatable read' })).toBe('ok');
    } finally {
      await close();
    }
  });

  it('OCC hot row: concurrent increments through transaction() retry to the exact total', async () => {
    const { db, close } = open();
    const id = `hot-${driver}`;
    let retries = 0;
    try {
      await db.insert(counters).values({ id, n: 0 });
      const workers = 6;
      const each = 10;
      await Promise.all(
        Array.from({ length: workers }, async () => {
          for (let i = 0; i < each; i++) {
            await transaction(
              db,
              async (tx) => {
                const [row] = await tx.select({ n: counters.n }).from(counters).where(eq(counters.id, id));
                await tx.update(counters).set({ n: row!.n + 1 }).where(eq(counters.id, id));
              },
              { maxAttempts: 100, baseDelayMs: 2, maxDelayMs: 50, onRetry: () => void retries++ },
            );
          }
        }),
      );
      const [row] = await db.select({ n: counters.n }).from(counters).where(eq(counters.id, id));
      expect(row!.n).toBe(workers * each);
      expect(retries).toBeGreaterThan(0); // conflicts did happen, and were retried
    } finally {
      await close();
    }
  });

  it('db.transaction retries OCC conflicts when retry is configured, and not otherwise', async () => {
    const id = `configured-${driver}`;
    let retries = 0;
    const withRetry = open({ retry: { maxAttempts: 100, baseDelayMs: 2, maxDelayMs: 50, onRetry: () => void retries++ } });
    const plain = open();
    try {
      await withRetry.db.insert(counters).values({ id, n: 0 });
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 8; i++) {
            await withRetry.db.transaction(async (tx) => {
              const [row] = await tx.select({ n: counters.n }).from(counters).where(eq(counters.id, id));
              await tx.update(counters).set({ n: row!.n + 1 }).where(eq(counters.id, id));
            });
          }
        }),
      );
      const [row] = await withRetry.db.select({ n: counters.n }).from(counters).where(eq(counters.id, id));
      expect(row!.n).toBe(32);
      expect(retries).toBeGreaterThan(0);

      // Without retry, a conflict reaches the caller as Drizzle's error with the 40001 inside.
      local.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction (OC000)' } });
      let runs = 0;
      const conflict = await plain.db
        .transaction(async (tx) => {
          runs++;
          await tx.update(counters).set({ n: 0 }).where(eq(counters.id, id));
        })
        .then(() => undefined, (e: unknown) => e);
      expect(isOccError(conflict)).toBe(true);
      expect(runs).toBe(1);
    } finally {
      await withRetry.close();
      await plain.close();
    }
  });

  it('a transaction whose failed statement was caught inside the callback is reported, not taken for a commit', async () => {
    const { db, close } = open();
    const id = `swallowed-${driver}`;
    try {
      await db.insert(counters).values({ id, n: 0 });
      const outcome = await db
        .transaction(async (tx) => {
          await tx.update(counters).set({ n: 5 }).where(eq(counters.id, id));
          await tx.execute(sql`SELECT 1 / 0`).catch(() => undefined); // swallowed: DSQL will roll back at COMMIT
          return 'done';
        })
        .then((v) => v, (e: unknown) => e);
      expect(outcome).not.toBe('done');
      if (driver === 'node-postgres') expect(isDsqlError(outcome, 'transaction-rolled-back')).toBe(true);
      const [row] = await db.select({ n: counters.n }).from(counters).where(eq(counters.id, id));
      expect(row!.n).toBe(0);
    } finally {
      await close();
    }
  });

  it('a connection lost inside a transaction fails it (not the process), and with retry it runs again', async () => {
    const { db, close } = open({ retry: { maxAttempts: 3, baseDelayMs: 1 } });
    const plain = open();
    const id = `dropped-${driver}`;
    try {
      await db.insert(counters).values({ id, n: 0 });
      // The UPDATE never reaches the server: the socket closes instead.
      local.inject({ on: 'query', match: 'update "hot_counters"', drop: true });
      let runs = 0;
      await db.transaction(async (tx) => {
        runs++;
        await tx.update(counters).set({ n: sql`${counters.n} + 1` }).where(eq(counters.id, id));
      });
      expect(runs).toBe(2);
      local.inject({ on: 'query', match: 'update "hot_counters"', drop: true });
      const lost = await plain.db
        .transaction(async (tx) => {
          await tx.update(counters).set({ n: sql`${counters.n} + 1` }).where(eq(counters.id, id));
        })
        .then(() => undefined, (e: unknown) => e);
      expect(lost).toBeInstanceOf(Error);
      const [row] = await db.select({ n: counters.n }).from(counters).where(eq(counters.id, id));
      expect(row!.n).toBe(1);
    } finally {
      await close();
      await plain.close();
    }
  });

  it('a COMMIT whose answer is lost is reported as CommitOutcomeUnknownError and never retried', async () => {
    const { db, close } = open({ retry: true });
    const id = `lost-${driver}`;
    try {
      await db.insert(counters).values({ id, n: 0 });
      local.inject({ on: 'commit', drop: true });
      let runs = 0;
      const lost = await db
        .transaction(async (tx) => {
          runs++;
          await tx.update(counters).set({ n: 7 }).where(eq(counters.id, id));
        })
        .then(() => undefined, (e: unknown) => e);
      expect(isCommitOutcomeUnknownError(lost)).toBe(true);
      expect(runs).toBe(1);
      // The emulator ran the COMMIT before dropping the answer.
      const [row] = await db.select({ n: counters.n }).from(counters).where(eq(counters.id, id));
      expect(row!.n).toBe(7);
    } finally {
      await close();
    }
  });
});
