import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { randomUUID } from 'node:crypto';
import { Kysely, sql } from 'kysely';
import { startDsqlLocalCluster, type DsqlLocalCluster } from '@dsql/local';
import { DSQL_FAILOVER_CHANNELS, isCommitOutcomeUnknownError, type DsqlFailoverMessage } from '@dsql/core';
import { DsqlDialect, transaction } from '../src/index.js';

// Kysely on a multi-Region cluster: DsqlDialect's `endpoints` reach core's failover through the
// DsqlPool it creates. A transfer workload keeps committing through the other Region while the
// preferred one is isolated; the ledger and balances are exact; after heal new connections go to
// the preferred Region again; no token is presented to the wrong Region.

const PREFERRED = 'us-east-1';
const OTHER = 'us-east-2';
const WORKERS = 2;
const START_BALANCE = 1000;

interface Database {
  accounts: { run: string; id: number; balance: number };
  transfers: { id: string; run: string; from_id: number; to_id: number; amount: number };
}

let cluster: DsqlLocalCluster;
let admin: Kysely<Database>;

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
  admin = new Kysely<Database>({ dialect: new DsqlDialect({ ...cluster.endpoint(OTHER).connectionOptions(), max: 1 }) });
  await sql`CREATE TABLE accounts (run text, id int, balance int NOT NULL, PRIMARY KEY (run, id))`.execute(admin);
  await sql`CREATE TABLE transfers (id uuid PRIMARY KEY, run text NOT NULL, from_id int NOT NULL, to_id int NOT NULL, amount int NOT NULL)`.execute(admin);
}, 120_000);

afterAll(async () => {
  await admin?.destroy();
  await cluster?.stop();
});

describe.each(['refuse', 'drop', 'blackhole'] as const)("Kysely, isolating the preferred Region ('%s')", (mode) => {
  it('keeps transfers committing through the other Region, exactly, and fails back after heal', async () => {
    for (let id = 0; id < 2 * WORKERS; id++) await admin.insertInto('accounts').values({ run: mode, id, balance: START_BALANCE }).execute();
    const failbacks: DsqlFailoverMessage[] = [];
    const onFailback = (m: unknown) => failbacks.push(m as DsqlFailoverMessage);
    subscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
    const db = new Kysely<Database>({
      dialect: new DsqlDialect({
        endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
        endpointProbe: { baseDelayMs: 100, maxDelayMs: 400, timeoutMs: 3000, intervalMs: 300 },
        maxLifetimeSeconds: [2, 3],
        max: WORKERS,
        connectionTimeoutMillis: 20_000,
      }),
    });
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
          await transaction(db, async (trx) => {
            await trx.updateTable('accounts').set((eb) => ({ balance: eb('balance', '-', amount) })).where('run', '=', mode).where('id', '=', from).execute();
            await trx.updateTable('accounts').set((eb) => ({ balance: eb('balance', '+', amount) })).where('run', '=', mode).where('id', '=', to).execute();
            await trx.insertInto('transfers').values({ id, run: mode, from_id: from, to_id: to, amount }).execute();
          });
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
      await db.destroy();
      unsubscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
      cluster.heal(PREFERRED);
    }
    expect(errors).toEqual([]);
    const ledger = await admin.selectFrom('transfers').selectAll().where('run', '=', mode).execute();
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
    const balances = await admin.selectFrom('accounts').select(['id', 'balance']).where('run', '=', mode).orderBy('id').execute();
    expect(balances.map((b) => [b.id, b.balance])).toEqual([...expected]);
    for (const region of [PREFERRED, OTHER]) expect(cluster.stats()[region]!.authFailures).toEqual({});
  }, 120_000);
});

describe('Kysely on a Region blackholed while its one connection is busy (endpointProbe.suspectAfterMs)', () => {
  it('the statement in flight fails as a connection loss once the suspected endpoint misses its check: transaction() retries on the other Region', async () => {
    await admin.insertInto('accounts').values({ run: 'suspect', id: 0, balance: START_BALANCE }).execute();
    const db = new Kysely<Database>({
      dialect: new DsqlDialect({
        endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
        // The periodic check an hour away: only the unanswered statement can have the endpoint checked.
        endpointProbe: { baseDelayMs: 200, maxDelayMs: 1000, timeoutMs: 5000, intervalMs: 3_600_000, suspectAfterMs: 1000 },
        max: 1,
        connectionTimeoutMillis: 20_000,
      }),
    });
    try {
      await sql`SELECT 1`.execute(db); // the one connection, to the preferred Region
      const otherBefore = authenticated(OTHER);
      let attempts = 0;
      const committed = transaction(db, async (trx, attempt) => {
        attempts = attempt;
        // The first attempt's UPDATE goes out on a blackholed link (its BEGIN was answered).
        if (attempt === 1) cluster.isolate(PREFERRED, { mode: 'blackhole' });
        await trx.updateTable('accounts').set((eb) => ({ balance: eb('balance', '-', 1) })).where('run', '=', 'suspect').where('id', '=', 0).execute();
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out after 30000 ms waiting for the transaction to commit on the other Region')), 30_000)));
      await Promise.race([committed, bound]).finally(() => clearTimeout(timer));
      expect(attempts).toBe(2);
      expect(authenticated(OTHER)).toBeGreaterThan(otherBefore);
    } finally {
      cluster.heal(PREFERRED);
      await db.destroy();
    }
    // Applied once: the first attempt never reached COMMIT.
    const [row] = await admin.selectFrom('accounts').select('balance').where('run', '=', 'suspect').where('id', '=', 0).execute();
    expect(row!.balance).toBe(START_BALANCE - 1);
  }, 90_000);
});
