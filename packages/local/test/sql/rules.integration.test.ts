/**
 * DSQL's SQL rules end to end: real clients (pg, Postgres.js) over TLS with real tokens against
 * `startDsqlLocal()` and its embedded PostgreSQL — async jobs, the extended protocol, the row
 * cap in autocommit, and what the server says about itself.
 */
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import type pg from 'pg';
import postgres from 'postgres';
import { createDsqlRules, startDsqlLocal, type DsqlLocal } from '../../src/index.js';
// The conformance client: pg over TLS (verify-full) with a real token; cells come back as text.
import { connect } from '../conformance/replay.js';

let dsql: DsqlLocal;
let client: pg.Client;

beforeAll(async () => {
  // Jobs stay `processing` for 1 s: long enough for two round trips on a loaded machine.
  dsql = await startDsqlLocal({ rules: createDsqlRules({ asyncJobMs: 1000 }) });
  ({ client } = await connect(dsql));
  await client.query('CREATE TABLE items (id int PRIMARY KEY, v text)');
  await client.query('CREATE TABLE bulk (id int)');
}, 60_000);

afterAll(async () => {
  await client?.end().catch(() => {});
  await dsql?.stop();
}, 30_000);

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a failure');
};

describe('async jobs', () => {
  it('builds the index, records the job and lets sys.wait_for_job await it', async () => {
    const created = await client.query('CREATE INDEX ASYNC items_v ON items (v)');
    expect(created.command).toBe('CREATE');
    const jobId = created.rows[0].job_id as string;
    expect(jobId).toMatch(/^[a-z2-7]{26}$/);
    await client.query('CALL sys.wait_for_job($1)', [jobId]);
    const job = await client.query('SELECT status, job_type, object_name FROM sys.jobs WHERE job_id = $1', [jobId]);
    expect(job.rows).toEqual([{ status: 'completed', job_type: 'INDEX_BUILD', object_name: 'items_v' }]);
    const index = await client.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'items_v'");
    expect(index.rows[0].indexdef).toBe('CREATE INDEX items_v ON public.items USING btree (v)');
  });

  it('reports a build the data breaks as a failed job, as DSQL does later', async () => {
    await client.query("INSERT INTO items (id, v) VALUES (1, 'same'), (2, 'same')");
    const { rows } = await client.query('CREATE UNIQUE INDEX ASYNC items_v_unique ON items (v)');
    const error = await failure(client.query('CALL sys.wait_for_job($1)', [rows[0].job_id]));
    expect(error.code).toBe('XX000');
    expect(error.message).toMatch(/failed: could not create unique index "items_v_unique"/);
    const left = await client.query("SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'items_v_unique'");
    expect(Number(left.rows[0].n)).toBe(0);
  });

  it('shows a job as processing for a moment, during which its index cannot become a constraint', async () => {
    await client.query('CREATE TABLE adopt (id int PRIMARY KEY, code text)');
    const { rows } = await client.query('CREATE UNIQUE INDEX ASYNC adopt_code ON adopt (code)');
    const jobId = rows[0].job_id as string;
    const status = async () => (await client.query('SELECT status FROM sys.jobs WHERE job_id = $1', [jobId])).rows[0].status;
    expect(await status()).toBe('processing');
    const early = await failure(client.query('ALTER TABLE adopt ADD CONSTRAINT adopt_code UNIQUE USING INDEX adopt_code'));
    expect(early).toMatchObject({ code: '55000', message: 'index "adopt_code" is not valid' });
    await client.query('CALL sys.wait_for_job($1)', [jobId]);
    expect(await status()).toBe('completed');
    await client.query('ALTER TABLE adopt ADD CONSTRAINT adopt_code UNIQUE USING INDEX adopt_code');
    const constraint = await client.query("SELECT contype FROM pg_constraint WHERE conname = 'adopt_code'");
    expect(constraint.rows).toEqual([{ contype: 'u' }]);
  });

  it('refuses a plain CREATE INDEX', async () => {
    const error = await failure(client.query('CREATE INDEX items_plain ON items (v)'));
    expect(error).toMatchObject({ code: '0A000', message: 'unsupported mode. please use CREATE INDEX ASYNC.' });
  });
});

describe('extended protocol', () => {
  it('applies the rules to Parse\'d statements with parameters, and aborts the transaction', async () => {
    const forShare = await failure(client.query('SELECT id FROM items WHERE id = $1 FOR SHARE', [1]));
    expect(forShare).toMatchObject({ code: '0A000', message: 'locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported' });
    await client.query('BEGIN');
    await client.query('CREATE TABLE ext_a (id int)');
    const mixed = await failure(client.query('INSERT INTO ext_a (id) VALUES ($1)', [1]));
    expect(mixed).toMatchObject({ code: '0A000', message: 'ddl and dml are not supported in the same transaction' });
    const aborted = await failure(client.query('SELECT $1::int', [1]));
    expect(aborted.code).toBe('25P02');
    await client.query('ROLLBACK');
    expect((await client.query("SELECT to_regclass('ext_a') AS t")).rows[0].t).toBeNull();
  });

  it('applies the row cap to autocommit statements and keeps none of their rows', async () => {
    const error = await failure(client.query('INSERT INTO bulk SELECT generate_series(1, $1::int)', [3001]));
    expect(error).toMatchObject({ code: '54000', message: 'transaction row limit exceeded' });
    const ok = await client.query('INSERT INTO bulk SELECT generate_series(1, $1::int)', [3000]);
    expect(ok.rowCount).toBe(3000);
    expect(Number((await client.query('SELECT count(*) AS n FROM bulk')).rows[0].n)).toBe(3000);
  });

  it('works the same for Postgres.js and its named prepared statements', async () => {
    const signer = new DsqlSigner({ hostname: dsql.host, region: dsql.region, credentials: dsql.credentials });
    const sql = postgres({
      host: dsql.hostaddr,
      port: dsql.port,
      user: 'admin',
      database: 'postgres',
      pass: await signer.getDbConnectAdminAuthToken(),
      ssl: { ca: dsql.ca, servername: dsql.host },
      max: 1,
      onnotice: () => {},
    });
    try {
      const [job] = await sql`CREATE INDEX ASYNC items_id_v ON items (id, v)`;
      expect(job?.job_id).toMatch(/^[a-z2-7]{26}$/);
      await expect(sql`SELECT pg_advisory_lock(${42})`).rejects.toMatchObject({
        code: '0A000',
        message: 'function pg_advisory_lock not supported',
      });
      await expect(sql.begin((tx) => [tx`SAVEPOINT s`])).rejects.toMatchObject({
        message: 'unsupported transaction statement: SAVEPOINT',
      });
    } finally {
      await sql.end();
    }
  });
});

describe('environment', () => {
  it('reports DSQL\'s version, UTC and repeatable read', async () => {
    const { rows } = await client.query(
      "SELECT version() AS v, current_setting('server_version') AS sv, current_setting('TimeZone') AS tz, current_setting('transaction_isolation') AS iso",
    );
    expect(rows[0].v).toMatch(/^PostgreSQL 16\.15 /);
    expect(rows[0]).toMatchObject({ sv: '16.15', tz: 'UTC', iso: 'repeatable read' });
    expect((await client.query('SHOW server_version')).rows).toEqual([{ server_version: '16.15' }]);
  });
});
