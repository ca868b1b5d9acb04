import { sql } from 'drizzle-orm';
import { drizzle } from '@dsql/drizzle/postgres-js';
import { adminQuery, startDsqlLocal, type DsqlLocal } from './support/local.js';

// drizzle({ connection }) creates the Postgres.js sql inside @dsql/postgres, where the application
// cannot attach anything: an idle connection the server closes must neither crash the process (an
// uncaught exception fails this jest run) nor break the next query. No listener is attached here.
// Runs on Postgres.js 4 (jest.config.cjs) and 3.4 (jest.postgres-v3.config.cjs).

let local: DsqlLocal;

beforeAll(async () => {
  local = await startDsqlLocal({ maxConnectionAgeSeconds: 2 });
}, 60_000);

afterAll(async () => {
  await local?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function open(): ReturnType<typeof drizzle> {
  // The client would keep the connection for an hour: only the server closes it.
  return drizzle({ connection: { ...local.connectionOptions(), max: 1, maxLifetimeSeconds: 3600, idle_timeout: 0 } });
}

async function backendPid(db: ReturnType<typeof drizzle>): Promise<number> {
  const [row] = await db.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
  return row!.pid;
}

describe('@dsql/drizzle/postgres-js: an idle connection closed by the server, no listener', () => {
  it("at the server's connection age: the next query runs on a new session", async () => {
    const db = open();
    try {
      const first = await backendPid(db);
      await sleep(3500); // 2 s age, at most 1 % jitter
      const second = await backendPid(db);
      expect(second).not.toBe(first);
    } finally {
      await db.$client.end({ timeout: 1 });
    }
  }, 20_000);

  it('ended by pg_terminate_backend: the next query and the next transaction work', async () => {
    const db = open();
    try {
      const first = await backendPid(db);
      const [killed] = await adminQuery(local, `select pg_terminate_backend(${first}) as ok`);
      expect(killed!.ok).toBe(true);
      await sleep(200);
      const second = await backendPid(db);
      expect(second).not.toBe(first);
      expect(await db.transaction(async (tx) => backendPid(tx as unknown as ReturnType<typeof drizzle>))).toBe(second);
    } finally {
      await db.$client.end({ timeout: 1 });
    }
  }, 20_000);
});
