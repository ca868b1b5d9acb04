import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { isOccError, withRetry } from '@dsql/core';
import type { DsqlLocal } from '@dsql/local';
import { DsqlPool } from '../src/index.js';
import { countingCredentials, startLocal } from './support/local.js';

// Prisma 7 with `generator client { provider = "prisma-client" }`: the query compiler is
// WebAssembly shipped on npm, queries go through @prisma/adapter-pg — no Rust engine at run time.
// The generated client is written to test/prisma/generated/ (git-ignored) by `prisma generate`.
// Its types exist only after that, so the client is loaded dynamically and used untyped here.
type Client = any;

let local: DsqlLocal;
let PrismaClient: new (options: { adapter: PrismaPg }) => Client;
let pool: DsqlPool;

beforeAll(async () => {
  local = await startLocal();
  const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
  execFileSync(process.execPath, [cli, 'generate', '--schema', 'prisma/schema.prisma'], {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    // `prisma generate` (7.10) insists on the schema engine binary, downloaded from
    // binaries.prisma.sh, although generating does not run it. Naming any existing file skips
    // the download (the variable is the documented override of the engine's path).
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    stdio: 'pipe',
  });
  const generated = './prisma/generated/client.js';
  ({ PrismaClient } = (await import(generated)) as { PrismaClient: typeof PrismaClient });
  // Prisma Migrate / db push need the schema engine binary (not on npm): the table is made by hand.
  pool = new DsqlPool(local.connectionOptions());
  await pool.query(
    'CREATE TABLE prisma_accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), owner text NOT NULL, balance int NOT NULL)',
  );
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await local?.stop();
});

/** The error an operation rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Client> {
  const outcome = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (outcome === undefined) throw new Error('expected a rejection');
  return outcome;
}

it('new PrismaPg(dsqlPool) queries through the DsqlPool (IAM token, TLS); $disconnect() leaves the pool open', async () => {
  const credentials = countingCredentials(local);
  const before = local.stats().authenticated;
  const own = new DsqlPool({ ...local.connectionOptions(), credentials });
  const prisma = new PrismaClient({ adapter: new PrismaPg(own) });
  try {
    const created = await prisma.prismaAccount.create({ data: { owner: 'ada', balance: 10 } });
    expect(created).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), owner: 'ada', balance: 10 });
    const updated = await prisma.prismaAccount.update({ where: { id: created.id }, data: { balance: { increment: 5 } } });
    expect(updated.balance).toBe(15);
    expect(await prisma.prismaAccount.findUnique({ where: { id: created.id } })).toEqual(updated);
    expect(await prisma.$queryRaw`SELECT current_user AS who`).toEqual([{ who: 'admin' }]);
    await prisma.prismaAccount.delete({ where: { id: created.id } });
  } finally {
    await prisma.$disconnect();
  }
  expect(credentials.calls).toBe(1);
  expect(local.stats().authenticated).toBeGreaterThan(before);
  expect(own.ended).toBe(false);
  await own.end();
});

it('interactive and batch $transaction commit, and roll back when the callback throws', async () => {
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  try {
    const [a, b] = await prisma.$transaction([
      prisma.prismaAccount.create({ data: { owner: 'tx-a', balance: 100 } }),
      prisma.prismaAccount.create({ data: { owner: 'tx-b', balance: 0 } }),
    ]);
    await prisma.$transaction(async (tx: Client) => {
      await tx.prismaAccount.update({ where: { id: a.id }, data: { balance: { decrement: 30 } } });
      await tx.prismaAccount.update({ where: { id: b.id }, data: { balance: { increment: 30 } } });
    });
    const failed = await rejection(
      prisma.$transaction(async (tx: Client) => {
        await tx.prismaAccount.update({ where: { id: a.id }, data: { balance: { decrement: 1000 } } });
        throw new Error('insufficient funds');
      }),
    );
    expect(failed.message).toBe('insufficient funds');
    const rows = await prisma.prismaAccount.findMany({ where: { owner: { startsWith: 'tx-' } }, orderBy: { owner: 'asc' } });
    expect(rows.map((r: { balance: number }) => r.balance)).toEqual([70, 30]);
  } finally {
    await prisma.$disconnect();
  }
});

it('an OCC conflict at COMMIT rejects with a DriverAdapterError that isOccError recognises: withRetry runs the transaction again', async () => {
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const other = new DsqlPool(local.connectionOptions());
  try {
    const { id } = await prisma.prismaAccount.create({ data: { owner: 'occ', balance: 0 } });
    const errors: Client[] = [];
    let attempts = 0;
    await withRetry(
      () =>
        prisma.$transaction(async (tx: Client) => {
          attempts++;
          const row = await tx.prismaAccount.findUniqueOrThrow({ where: { id } });
          // Another session changes the row this transaction read, before it commits.
          if (attempts === 1) await other.query('UPDATE prisma_accounts SET balance = balance + 100 WHERE id = $1', [id]);
          await tx.prismaAccount.updateMany({ where: { id }, data: { balance: row.balance + 1 } });
        }),
      { onRetry: ({ error }) => errors.push(error) },
    );
    expect(attempts).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      name: 'DriverAdapterError',
      cause: { kind: 'TransactionWriteConflict', originalCode: '40001', originalMessage: expect.stringContaining('(OC000)') },
    });
    // Prisma keeps the SQLSTATE in `cause.originalCode`; @dsql/core reads it there.
    expect(isOccError(errors[0])).toBe(true);
    expect(isPrismaWriteConflict(errors[0])).toBe(true);
    expect((await prisma.prismaAccount.findUniqueOrThrow({ where: { id } })).balance).toBe(101);
  } finally {
    await other.end();
    await prisma.$disconnect();
  }
});

it('a connection lost at COMMIT rejects without a retry (the outcome is unknown), and the client goes on', async () => {
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  try {
    const { id } = await prisma.prismaAccount.create({ data: { owner: 'lost', balance: 0 } });
    local.inject({ on: 'commit', drop: true }); // COMMIT is forwarded; the socket closes before its answer
    let attempts = 0;
    const err = await rejection(
      withRetry(
        () =>
          prisma.$transaction(async (tx: Client) => {
            attempts++;
            await tx.prismaAccount.updateMany({ where: { id }, data: { balance: 1 } });
          }),
      ),
    );
    expect(attempts).toBe(1);
    // pg's own error reaches the caller unwrapped; it is no write conflict, and not retried.
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe('Connection terminated unexpectedly');
    expect(isPrismaWriteConflict(err) || isOccError(err)).toBe(false);
    // It did commit here: only reading tells.
    expect((await prisma.prismaAccount.findUniqueOrThrow({ where: { id } })).balance).toBe(1);
  } finally {
    await prisma.$disconnect();
  }
});

it('a conflicting update() (UPDATE … RETURNING) gets its row, the COMMIT fails with a write conflict, and withRetry runs it again', async () => {
  // As on DSQL: the statement answers (here @dsql/local computes the row it would return) and
  // the conflict surfaces at COMMIT, where isOccError recognises Prisma's error.
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const other = new DsqlPool(local.connectionOptions());
  try {
    const { id } = await prisma.prismaAccount.create({ data: { owner: 'returning', balance: 0 } });
    const returned: number[] = [];
    const errors: unknown[] = [];
    let attempts = 0;
    await withRetry(
      () =>
        prisma.$transaction(async (tx: Client) => {
          attempts++;
          await tx.prismaAccount.findUniqueOrThrow({ where: { id } });
          if (attempts === 1) await other.query('UPDATE prisma_accounts SET balance = balance + 100 WHERE id = $1', [id]);
          returned.push((await tx.prismaAccount.update({ where: { id }, data: { balance: { increment: 1 } } })).balance);
        }),
      { onRetry: ({ error }) => errors.push(error) },
    );
    expect(attempts).toBe(2);
    expect(errors).toHaveLength(1);
    expect(isOccError(errors[0])).toBe(true);
    // The first attempt's update() saw a row (its snapshot's, plus its increment, as DSQL
    // answers), not P2025; the retry saw the other's commit.
    expect(returned).toEqual([1, 101]);
    expect((await prisma.prismaAccount.findUniqueOrThrow({ where: { id } })).balance).toBe(101);
  } finally {
    await other.end();
    await prisma.$disconnect();
  }
});

/** Prisma's write conflict, raw from an interactive transaction or as P2034 from a query. */
function isPrismaWriteConflict(error: unknown): boolean {
  const e = error as { code?: string; cause?: { originalCode?: string }; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } };
  return e?.cause?.originalCode === '40001' || e?.meta?.driverAdapterError?.cause?.originalCode === '40001' || e?.code === 'P2034';
}

it('an isolationLevel and a nested $transaction (SAVEPOINT) are refused', async () => {
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  try {
    const isolation = await rejection(prisma.$transaction((tx: Client) => tx.prismaAccount.count(), { isolationLevel: 'RepeatableRead' }));
    expect(isolation.meta.driverAdapterError.cause).toMatchObject({
      originalCode: '0A000',
      originalMessage: 'setting configuration parameter "TRANSACTION" not supported',
    });
    const nested = await rejection(prisma.$transaction((tx: Client) => tx.$transaction((inner: Client) => inner.prismaAccount.count())));
    expect(nested.cause).toMatchObject({ originalCode: '0A000', originalMessage: 'unsupported transaction statement: SAVEPOINT' });
    expect(await prisma.$transaction((tx: Client) => tx.prismaAccount.count())).toEqual(expect.any(Number));
  } finally {
    await prisma.$disconnect();
  }
});
