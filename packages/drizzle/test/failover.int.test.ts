import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { startDsqlLocalCluster, type DsqlLocalCluster } from '@dsql/local';
import { DSQL_FAILOVER_CHANNELS, isCommitOutcomeUnknownError, type DsqlFailoverMessage } from '@dsql/core';
import { DsqlPool } from '@dsql/pg';
import { drizzle, transaction } from '@dsql/drizzle';
import { drizzle as drizzlePostgresJs } from '@dsql/drizzle/postgres-js';

// Drizzle on a multi-Region cluster, through both drivers (node-postgres's DsqlPool, Postgres.js's
// dsql()): `connection.endpoints` reaches core's failover. A transfer workload keeps committing
// through the other Region while the preferred one is isolated; the ledger and balances are
// exact; after heal new connections go to the preferred Region again; no token reaches the wrong Region.

const PREFERRED = 'us-east-1';
const OTHER = 'us-east-2';
const WORKERS = 2;
const START_BALANCE = 1000;

let cluster: DsqlLocalCluster;
let admin: DsqlPool;

async function until(what: string, condition: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const authenticated = (region: string): number => cluster.stats()[region]!.authenticated;

beforeAll(async () => {
  cluster = await startDsqlLocalCluster({ regions: [PREFERRED, OTHER] });
  admin = new DsqlPool({ ...cluster.endpoint(OTHER).connectionOptions(), max: 1 });
  await admin.query('CREATE TABLE accounts (run text, id int, balance int NOT NULL, PRIMARY KEY (run, id))');
  await admin.query('CREATE TABLE transfers (id uuid PRIMARY KEY, run text NOT NULL, from_id int NOT NULL, to_id int NOT NULL, amount int NOT NULL)');
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await cluster?.stop();
});

const connection = () => ({
  endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
  endpointProbe: { baseDelayMs: 100, maxDelayMs: 400, timeoutMs: 3000, intervalMs: 300 },
  maxLifetimeSeconds: [2, 3] as [number, number],
  max: WORKERS,
});

/** Per driver: run statements as one `transaction()` of @dsql/drizzle, and close the client. */
const drivers: Record<'node-postgres' | 'postgres-js', () => { inTransaction(statements: SQL[]): Promise<void>; end(): Promise<void> }> = {
  'node-postgres': () => {
    const db = drizzle({ connection: { ...connection(), connectionTimeoutMillis: 20_000 } });
    db.$client.on('error', () => {});
    return {
      inTransaction: (statements) => transaction(db, async (tx) => {
        for (const statement of statements) await tx.execute(statement);
      }),
      end: () => db.$client.end(),
    };
  },
  'postgres-js': () => {
    const db = drizzlePostgresJs({ connection: { ...connection(), connect_timeout: 20 } });
    return {
      inTransaction: (statements) => transaction(db, async (tx) => {
        for (const statement of statements) await tx.execute(statement);
      }),
      end: () => db.$client.end({ timeout: 1 }),
    };
  },
};

describe.each(['node-postgres', 'postgres-js'] as const)('Drizzle (%s)', (driver) => {
  describe.each(['refuse', 'drop', 'blackhole'] as const)("isolating the preferred Region ('%s')", (mode) => {
    it('keeps transfers committing through the other Region, exactly, and fails back after heal', async () => {
      const run = `${driver}-${mode}`;
      for (let id = 0; id < 2 * WORKERS; id++) await admin.query('INSERT INTO accounts (run, id, balance) VALUES ($1, $2, $3)', [run, id, START_BALANCE]);
      const failbacks: DsqlFailoverMessage[] = [];
      const onFailback = (m: unknown) => failbacks.push(m as DsqlFailoverMessage);
      subscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
      const { inTransaction, end } = drivers[driver]();
      const acknowledged: string[] = [];
      const unknown: string[] = [];
      const errors: unknown[] = [];
      let stopped = false;
      const worker = async (w: number): Promise<void> => {
        for (let i = 0; !stopped; i++) {
          const id = randomUUID();
          const [from, to] = i % 2 === 0 ? [2 * w, 2 * w + 1] : [2 * w + 1, 2 * w];
          const amount = 1 + (i % 5);
          try {
            await inTransaction([
              sql`UPDATE accounts SET balance = balance - ${amount} WHERE run = ${run} AND id = ${from}`,
              sql`UPDATE accounts SET balance = balance + ${amount} WHERE run = ${run} AND id = ${to}`,
              sql`INSERT INTO transfers (id, run, from_id, to_id, amount) VALUES (${id}, ${run}, ${from}, ${to}, ${amount})`,
            ]);
            acknowledged.push(id);
          } catch (err) {
            if (isCommitOutcomeUnknownError(err)) unknown.push(id);
            else errors.push(err);
          }
        }
      };
      const running = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
      try {
        await until('10 transfers through the preferred Region', () => acknowledged.length >= 10);
        const otherBefore = authenticated(OTHER);
        cluster.isolate(PREFERRED, { mode });
        const atIsolation = acknowledged.length;
        await until('20 transfers after the isolation', () => acknowledged.length >= atIsolation + 20);
        expect(authenticated(OTHER)).toBeGreaterThan(otherBefore);
        cluster.heal(PREFERRED);
        const preferredAtHeal = authenticated(PREFERRED);
        await until('the failback event', () => failbacks.some((m) => m.to.region === PREFERRED));
        await until('new connections to the preferred Region', () => authenticated(PREFERRED) > preferredAtHeal);
      } finally {
        stopped = true;
        await running;
        await end();
        unsubscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
        cluster.heal(PREFERRED);
      }
      expect(errors).toEqual([]);
      const { rows: ledger } = await admin.query<{ id: string; from_id: number; to_id: number; amount: number }>(
        'SELECT id, from_id, to_id, amount FROM transfers WHERE run = $1',
        [run],
      );
      const ids = new Set(ledger.map((t) => t.id));
      expect(acknowledged.filter((id) => !ids.has(id))).toEqual([]);
      const reported = new Set([...acknowledged, ...unknown]);
      expect(ledger.filter((t) => !reported.has(t.id))).toEqual([]);
      const expected = new Map<number, number>();
      for (let id = 0; id < 2 * WORKERS; id++) expected.set(id, START_BALANCE);
      for (const t of ledger) {
        expected.set(t.from_id, expected.get(t.from_id)! - t.amount);
        expected.set(t.to_id, expected.get(t.to_id)! + t.amount);
      }
      const { rows: balances } = await admin.query<{ id: number; balance: number }>('SELECT id, balance FROM accounts WHERE run = $1 ORDER BY id', [run]);
      expect(balances.map((b) => [b.id, b.balance])).toEqual([...expected]);
      for (const region of [PREFERRED, OTHER]) expect(cluster.stats()[region]!.authFailures).toEqual({});
    }, 120_000);
  });
});

describe('Drizzle (postgres-js) on a Region blackholed while its one connection is busy (endpointProbe.suspectAfterMs)', () => {
  it('the statement in flight fails as a connection loss once the suspected endpoint misses its check: transaction() retries on the other Region', async () => {
    await admin.query('INSERT INTO accounts (run, id, balance) VALUES ($1, 0, $2)', ['suspect', START_BALANCE]);
    const db = drizzlePostgresJs({
      connection: {
        endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
        // The periodic check an hour away: only the unanswered statement can have the endpoint checked.
        endpointProbe: { baseDelayMs: 200, maxDelayMs: 1000, timeoutMs: 5000, intervalMs: 3_600_000, suspectAfterMs: 1000 },
        max: 1,
        connect_timeout: 20,
      },
    });
    try {
      await db.execute(sql`SELECT 1`); // the one connection, to the preferred Region
      const otherBefore = authenticated(OTHER);
      let attempts = 0;
      const committed = transaction(db, async (tx) => {
        // The first attempt's UPDATE goes out on a blackholed link (its BEGIN was answered).
        if (++attempts === 1) cluster.isolate(PREFERRED, { mode: 'blackhole' });
        await tx.execute(sql`UPDATE accounts SET balance = balance - 1 WHERE run = 'suspect' AND id = 0`);
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out after 30000 ms waiting for the transaction to commit on the other Region')), 30_000)));
      await Promise.race([committed, bound]).finally(() => clearTimeout(timer));
      expect(attempts).toBe(2);
      expect(authenticated(OTHER)).toBeGreaterThan(otherBefore);
    } finally {
      cluster.heal(PREFERRED);
      await db.$client.end({ timeout: 1 });
    }
    // Applied once: the first attempt never reached COMMIT.
    const { rows } = await admin.query<{ balance: number }>("SELECT balance FROM accounts WHERE run = 'suspect' AND id = 0");
    expect(rows).toEqual([{ balance: START_BALANCE - 1 }]);
  }, 90_000);
});
