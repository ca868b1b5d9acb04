/**
 * The emulator's own objects stay out of what clients introspect: as on DSQL, the only schema
 * of the system's besides PostgreSQL's is `sys`. Async jobs still work for admin and for other
 * roles, which reach the private job table only through `sys`.
 */
import type pg from 'pg';
import { createDsqlRules, startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, failure } from './helpers.js';

let dsql: DsqlLocal;
let admin: pg.Client;
let app: pg.Client;
beforeAll(async () => {
  dsql = await startDsqlLocal({ rules: createDsqlRules({ asyncJobMs: 800 }) });
  admin = await connectPg(dsql);
  await admin.query('CREATE TABLE admin_things (id int PRIMARY KEY, code text)');
  await admin.query('CREATE ROLE app_owner WITH LOGIN');
  await admin.query('GRANT CREATE ON SCHEMA public TO app_owner');
  app = await connectPg(dsql, 'app_owner');
  await app.query('CREATE TABLE app_things (id int PRIMARY KEY, code text, extra text)');
}, 60_000);
afterAll(async () => {
  await app?.end().catch(() => {});
  await admin?.end().catch(() => {});
  await dsql?.stop();
});

/** Schemas an application could take for its own: not PostgreSQL's (`pg_*`, information_schema). */
const APP_SCHEMAS = `SELECT nspname FROM pg_catalog.pg_namespace
  WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1`;

/** The relations Kysely's `db.introspection.getTables()` reports (its PostgresIntrospector's filter). */
const KYSELY_TABLES = `SELECT DISTINCT ns.nspname || '.' || c.relname AS name
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON c.relnamespace = ns.oid
  WHERE c.relkind IN ('r', 'v', 'p') AND ns.nspname !~ '^pg_' AND ns.nspname <> 'information_schema'
    AND has_schema_privilege(ns.nspname, 'USAGE') ORDER BY 1`;

const names = async (c: pg.Client, sql: string): Promise<string[]> => (await c.query(sql)).rows.map((r) => Object.values(r)[0] as string);

describe('the private schema', () => {
  it.each([
    ['admin', () => admin],
    ['a non-admin role', () => app],
  ])('is not among the schemas %s sees in pg_namespace (only public and sys)', async (_who, client) => {
    expect(await names(client(), APP_SCHEMAS)).toEqual(['public', 'sys']);
    expect(await names(client(), "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname LIKE '%dsql%'")).not.toContain('dsql_local');
  });

  it.each([
    ['admin', () => admin],
    ['a non-admin role', () => app],
  ])('is left out of ORM introspection as %s (Kysely getTables, information_schema)', async (_who, client) => {
    expect(await names(client(), KYSELY_TABLES)).toEqual(['public.admin_things', 'public.app_things', 'sys.jobs']);
    const schemas = await names(
      client(),
      `SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_schema !~ '^pg_' AND table_schema <> 'information_schema' ORDER BY 1`,
    );
    expect(schemas).toEqual(['public', 'sys']);
  });

  it('shows a non-admin role only its own table and sys.jobs in information_schema, and refuses it the job table', async () => {
    expect(await names(app, `SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)).toEqual([
      'public.app_things',
      'sys.jobs',
    ]);
    expect(await failure(() => app.query('SELECT * FROM pg_dsql_local.jobs'))).toEqual(
      expect.objectContaining({ code: '42501', message: 'permission denied for schema pg_dsql_local' }),
    );
  });
});

describe('async jobs through sys only', () => {
  it.each([
    ['admin', () => admin, 'admin_things'],
    ['a non-admin role', () => app, 'app_things'],
  ])('work for %s: CREATE INDEX ASYNC, sys.jobs, wait_for_job, adopting the index', async (_who, client, table) => {
    const c = client();
    const { rows } = await c.query(`CREATE UNIQUE INDEX ASYNC ${table}_code ON ${table} (code)`);
    const jobId = rows[0].job_id as string;
    expect(jobId).toMatch(/^[a-z2-7]{26}$/);
    const status = async (): Promise<string> => (await c.query('SELECT status FROM sys.jobs WHERE job_id = $1', [jobId])).rows[0].status;
    expect(await status()).toBe('processing');
    expect(await failure(() => c.query(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_code UNIQUE USING INDEX ${table}_code`))).toEqual(
      expect.objectContaining({ code: '55000', message: `index "${table}_code" is not valid` }),
    );
    await c.query('CALL sys.wait_for_job($1)', [jobId]);
    expect((await c.query('SELECT status, job_type, object_name FROM sys.jobs WHERE job_id = $1', [jobId])).rows).toEqual([
      { status: 'completed', job_type: 'INDEX_BUILD', object_name: `${table}_code` },
    ]);
    await c.query(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_code UNIQUE USING INDEX ${table}_code`);
    expect(await failure(() => c.query(`ALTER TABLE ${table} DROP COLUMN id`))).toEqual(
      expect.objectContaining({ code: '0A000', message: 'cannot drop primary key column id' }),
    );
  });

  it('a job the data breaks is reported failed to a non-admin role', async () => {
    await app.query("INSERT INTO app_things (id, extra) VALUES (1, 'x'), (2, 'x')");
    const { rows } = await app.query('CREATE UNIQUE INDEX ASYNC app_things_extra ON app_things (extra)');
    const err = await failure(() => app.query('CALL sys.wait_for_job($1)', [rows[0].job_id]));
    expect(err).toEqual(expect.objectContaining({ code: 'XX000', message: expect.stringMatching(/failed: could not create unique index "app_things_extra"/) }));
  });

  it('a role without rights on the table gets no index, and no job', async () => {
    await admin.query('CREATE ROLE app_other WITH LOGIN');
    const other = await connectPg(dsql, 'app_other');
    try {
      expect(await failure(() => other.query('CREATE INDEX ASYNC stolen ON admin_things (code)'))).toEqual(
        expect.objectContaining({ code: '42501', message: 'must be owner of table admin_things' }),
      );
      expect((await admin.query("SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'stolen'")).rows).toEqual([{ n: 0 }]);
    } finally {
      await other.end();
    }
  });

  it("refuses a client's own call of the emulator's helpers (DSQL has none), so no job can be faked", async () => {
    const before = (await admin.query('SELECT count(*)::int AS n FROM sys.jobs')).rows[0].n;
    for (const sql of [
      "SELECT sys.dsql_local_record_job('INDEX_BUILD', 'completed', NULL, NULL, NULL, 'fake')",
      "SELECT * FROM (SELECT sys.dsql_local_run_job('INDEX_BUILD', 'CREATE INDEX fake ON app_things (code)')) AS j",
    ]) {
      expect(await failure(() => app.query(sql))).toEqual(expect.objectContaining({ code: '42883', message: expect.stringMatching(/^function sys\.dsql_local_\w+ does not exist$/) }));
      expect(await failure(() => admin.query(sql, []))).toEqual(expect.objectContaining({ code: '42883' }));
    }
    expect((await admin.query('SELECT count(*)::int AS n FROM sys.jobs')).rows[0].n).toBe(before);
    // The proxy's own use of them is unaffected.
    const { rows } = await app.query('CREATE INDEX ASYNC app_things_code_id ON app_things (code, id)');
    await app.query('CALL sys.wait_for_job($1)', [rows[0].job_id]);
    expect((await admin.query('SELECT count(*)::int AS n FROM sys.jobs')).rows[0].n).toBe(before + 1);
  });

  it('version() and current_setting() still answer as DSQL for a non-admin role', async () => {
    expect((await app.query("SELECT version() AS v, current_setting('server_version') AS s, current_setting('no.such', true) AS m")).rows).toEqual([
      { v: expect.stringMatching(/^PostgreSQL 16\.15 /), s: '16.15', m: null },
    ]);
  });
});
