import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import type postgres from 'postgres';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, connectPostgresJs, failure, rawSocket } from './helpers.js';

let dsql: DsqlLocal;
let c: pg.Client;
let sql: postgres.Sql;
beforeAll(async () => {
  dsql = await startDsqlLocal();
  c = await connectPg(dsql);
  sql = await connectPostgresJs(dsql, { max: 1 });
  await c.query('CREATE TABLE copied (id int PRIMARY KEY, name text)');
}, 60_000);
afterAll(async () => {
  await c?.end().catch(() => {});
  await sql?.end().catch(() => {});
  await dsql?.stop();
});

describe('wire protocol through the proxy', () => {
  it('matches pipelined answers to their queries, refusals included', async () => {
    // One connection, 60 queries in flight: Postgres.js pipelines them.
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => (i % 7 === 3 ? sql.unsafe('TRUNCATE copied') : sql`SELECT ${i}::int AS i, repeat('x', ${i}) AS pad`)),
    );
    results.forEach((r, i) => {
      if (i % 7 === 3) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toEqual(expect.objectContaining({ code: '0A000' }));
      } else {
        expect(r).toEqual({ status: 'fulfilled', value: [{ i, pad: 'x'.repeat(i) }] });
      }
    });
  });

  it('relays large results across many chunks', async () => {
    const r = await c.query("SELECT g, md5(g::text) AS h FROM generate_series(1, 100000) g");
    expect(r.rowCount).toBe(100000);
    expect(r.rows[99999]).toEqual({ g: 100000, h: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const big = await c.query("SELECT repeat('y', 5000000) AS big");
    expect(big.rows[0].big).toHaveLength(5000000);
  });

  it('carries COPY FROM STDIN and COPY TO STDOUT', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `${i + 1}\tname-${i + 1}\n`);
    const writable = await sql`COPY copied (id, name) FROM STDIN`.writable();
    await pipeline(Readable.from(lines), writable);
    expect((await c.query('SELECT count(*)::int AS n, max(name) AS m FROM copied')).rows).toEqual([{ n: 500, m: 'name-99' }]);
    const chunks: Buffer[] = [];
    const readable = await sql`COPY (SELECT id FROM copied WHERE id <= 3 ORDER BY id) TO STDOUT`.readable();
    for await (const chunk of readable) chunks.push(Buffer.from(chunk as Buffer));
    expect(Buffer.concat(chunks).toString()).toBe('1\n2\n3\n');
  });

  it('answers a COPY FROM STDIN in autocommit only once its rows are committed (another connection sees them at once)', async () => {
    await c.query('CREATE TABLE copied_often (id int PRIMARY KEY)');
    try {
      for (let round = 0; round < 25; round++) {
        const writable = await sql`COPY copied_often (id) FROM STDIN`.writable();
        await pipeline(Readable.from([`${round}\n`]), writable);
        // The proxy commits the transaction it opened around the COPY before relaying its completion.
        expect((await c.query('SELECT count(*)::int AS n FROM copied_often')).rows).toEqual([{ n: round + 1 }]);
      }
    } finally {
      await c.query('DROP TABLE copied_often');
    }
  });

  it('relays cancel requests to PostgreSQL', async () => {
    const started = Date.now();
    // Postgres.js sends its CancelRequest over TLS, like its connections.
    const q = sql`SELECT pg_sleep(5)`;
    setTimeout(() => q.cancel(), 200);
    expect(await failure(() => q)).toEqual(expect.objectContaining({ code: '57014' }));
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('relays plaintext cancel requests (as libpq and node-postgres send them)', async () => {
    const k = await connectPg(dsql);
    try {
      const { processID, secretKey } = k as unknown as { processID: number; secretKey: number };
      const running = failure(() => k.query('SELECT pg_sleep(5)'));
      await new Promise((r) => setTimeout(r, 200));
      const s = await rawSocket(dsql);
      const packet = Buffer.alloc(16);
      packet.writeInt32BE(16, 0);
      packet.writeInt32BE(80877102, 4);
      packet.writeInt32BE(processID, 8);
      packet.writeInt32BE(secretKey, 12);
      s.end(packet);
      expect(await running).toEqual(expect.objectContaining({ code: '57014' }));
    } finally {
      await k.end();
    }
  });
});
