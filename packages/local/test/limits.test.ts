import pg from 'pg';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, failure, pgConfig, token } from './helpers.js';

// One embedded PostgreSQL for the file; each test starts a light proxy in front of it.
let base: DsqlLocal;
const extra: DsqlLocal[] = [];
beforeAll(async () => {
  base = await startDsqlLocal();
}, 60_000);
afterAll(async () => {
  await Promise.all(extra.map((d) => d.stop()));
  await base?.stop();
});

async function proxy(o: Parameters<typeof startDsqlLocal>[0]): Promise<DsqlLocal> {
  const d = await startDsqlLocal({ upstream: base.upstreamUrl, credentials: base.credentials, ...o });
  extra.push(d);
  return d;
}

function closed(client: pg.Client): Promise<void> {
  return new Promise((resolve) => client.once('end', () => resolve()));
}

describe('connection limits', () => {
  it('refuses connections beyond maxConnections with 53300', async () => {
    const d = await proxy({ maxConnections: 2 });
    const a = await connectPg(d);
    const b = await connectPg(d);
    try {
      const err = await failure(() => connectPg(d));
      expect(err).toEqual(expect.objectContaining({ code: '53300', message: 'Unable to accept connection, too many open connections.' }));
      expect(d.stats()).toEqual(expect.objectContaining({ tooManyConnections: 1, openConnections: 2 }));
    } finally {
      await a.end();
      await b.end();
    }
    // Slots free again once clients leave.
    await new Promise((r) => setTimeout(r, 50));
    const c = await connectPg(d);
    await c.end();
  });

  it('limits the connection rate with a token bucket (53400)', async () => {
    // Refills one token per 100 s: the test sees exactly the burst, however slow the machine.
    const d = await proxy({ connectRate: { perSecond: 0.01, burst: 3 } });
    const password = await token(d);
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, async () => {
        const c = new pg.Client(pgConfig(d, password));
        c.on('error', () => {});
        await c.connect();
        await c.end();
      }),
    );
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(rejected).toHaveLength(2);
    for (const r of rejected) {
      expect(r.reason).toEqual(expect.objectContaining({ code: '53400', message: 'Unable to accept connection, rate exceeded.' }));
    }
    expect(d.stats().rateLimited).toBe(2);
  });

  it('closes an idle connection at its maximum age', async () => {
    const d = await proxy({ maxConnectionAgeSeconds: 0.3 });
    const client = await connectPg(d);
    const started = Date.now();
    await closed(client);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(d.stats().closedForAge).toBe(1);
    const err = await failure(() => client.query('SELECT 1'));
    expect(err.message).toMatch(/not queryable|terminated|closed/i);
  });

  it('closes a busy connection only after its transaction ends', async () => {
    const d = await proxy({ maxConnectionAgeSeconds: 0.2 });
    const client = await connectPg(d);
    const ended = closed(client);
    await client.query('CREATE TABLE IF NOT EXISTS age_probe (id int PRIMARY KEY, v int)');
    await client.query('BEGIN');
    await client.query('SELECT 1');
    await new Promise((r) => setTimeout(r, 400));
    // Past the deadline but inside a transaction: still served.
    await client.query('INSERT INTO age_probe VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET v = age_probe.v + 1');
    expect(d.stats().closedForAge).toBe(0);
    await client.query('COMMIT');
    await ended;
    expect(d.stats().closedForAge).toBe(1);
    const check = await connectPg(base);
    try {
      expect((await check.query('SELECT count(*)::int AS n FROM age_probe')).rows).toEqual([{ n: 1 }]);
    } finally {
      await check.end();
    }
  });

  it('fails statements of a transaction older than the limit with 54000', async () => {
    const d = await proxy({ maxTransactionAgeSeconds: 0.5 });
    const client = await connectPg(d);
    try {
      await client.query('BEGIN');
      await client.query('SELECT 1');
      await new Promise((r) => setTimeout(r, 700));
      const err = await failure(() => client.query('SELECT 2'));
      expect(err).toEqual(
        expect.objectContaining({ code: '54000', message: 'transaction age limit of 0.5s exceeded', detail: expect.stringMatching(/^Current transaction age \d+s exceeds 0.5s$/) }),
      );
      // The transaction is aborted, as after any refusal inside BEGIN.
      expect(await failure(() => client.query('SELECT 3'))).toEqual(expect.objectContaining({ code: '25P02' }));
      await client.query('ROLLBACK');
      expect((await client.query('SELECT 4 AS n')).rows).toEqual([{ n: 4 }]);
      expect(d.stats().transactionAgeExceeded).toBe(1);
    } finally {
      await client.end();
    }
  });

  it('fails a COMMIT of a transaction older than the limit with 54000 and rolls it back', async () => {
    const d = await proxy({ maxTransactionAgeSeconds: 1 });
    const client = await connectPg(d);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS age_commit (id int PRIMARY KEY)');
      await client.query('BEGIN');
      await client.query('INSERT INTO age_commit VALUES (7)');
      await new Promise((r) => setTimeout(r, 1100));
      const err = await failure(() => client.query('COMMIT'));
      expect(err).toEqual(expect.objectContaining({ code: '54000', message: 'transaction age limit of 1s exceeded' }));
      expect((await client.query('SELECT count(*)::int AS n FROM age_commit')).rows).toEqual([{ n: 0 }]);
    } finally {
      await client.end();
    }
  });
});
