// The migration rules checked against @dsql/local, which answers as a real cluster does
// (its SQL rules follow the golden recordings): what the checker refuses, DSQL refuses; what
// migrate() sends instead, DSQL accepts.
import { jest } from '@jest/globals';
import { DsqlClient } from '@dsql/pg';
import { judge } from '../src/migrations/rules.js';
import { loadParser, parseChunk } from '../src/migrations/statements.js';
import { startDsqlLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
let client: DsqlClient;

beforeAll(async () => {
  await loadParser();
  local = await startDsqlLocal();
  client = new DsqlClient(local.connectionOptions());
  await client.connect();
  for (const ddl of [
    'CREATE TABLE oracle_users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text)',
    'CREATE TABLE oracle_posts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), author_id uuid, n integer)',
  ]) {
    await client.query(ddl);
  }
});

afterAll(async () => {
  await client?.end();
  await local?.stop();
});

/** DSQL's answer to one statement: its SQLSTATE, or 'ok'. */
async function answer(sql: string): Promise<string> {
  try {
    const result = await client.query(sql);
    const jobId = result.rows?.[0]?.job_id;
    if (typeof jobId === 'string') await client.query('CALL sys.wait_for_job($1)', [jobId]);
    return 'ok';
  } catch (err) {
    return String((err as { code?: string }).code ?? err);
  }
}

const verdictOf = (sql: string) => {
  const statements = parseChunk(sql);
  expect(statements).toHaveLength(1);
  return judge(statements[0]!);
};

it.each([
  `CREATE TYPE oracle_mood AS ENUM ('sad', 'happy')`,
  'CREATE TABLE oracle_a (id serial PRIMARY KEY)',
  'CREATE TABLE oracle_b (tags text[])',
  'CREATE TABLE oracle_c (id integer GENERATED ALWAYS AS IDENTITY (CACHE 1))',
  'CREATE TABLE oracle_d (id bigint GENERATED ALWAYS AS IDENTITY)',
  'CREATE TABLE oracle_e (m money)',
  'CREATE TEMPORARY TABLE oracle_f (id uuid)',
  'ALTER TABLE oracle_posts ADD COLUMN extra integer DEFAULT 0 NOT NULL',
  'ALTER TABLE oracle_posts ALTER COLUMN n SET DATA TYPE bigint',
  'ALTER TABLE oracle_posts ADD CONSTRAINT oracle_posts_pk2 PRIMARY KEY (id)',
  'TRUNCATE oracle_posts',
  'CREATE EXTENSION IF NOT EXISTS pgcrypto',
  `DO $$ BEGIN PERFORM 1; END $$`,
  'CREATE SEQUENCE oracle_seq',
  'CREATE FUNCTION oracle_fn() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$',
  'CREATE MATERIALIZED VIEW oracle_mv AS SELECT 1',
  'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
])('refused by the checker and by DSQL: %s', async (sql) => {
  expect(verdictOf(sql).ok).toBe(false);
  expect(await answer(sql)).not.toBe('ok');
});

it.each([
  ['CREATE INDEX oracle_posts_n_idx ON oracle_posts USING btree (n)'],
  ['ALTER TABLE oracle_posts ADD CONSTRAINT oracle_posts_author_fk FOREIGN KEY (author_id) REFERENCES public.oracle_users (id) ON DELETE no action'],
  ['ALTER TABLE oracle_posts ADD CONSTRAINT oracle_posts_n_check CHECK (n >= 0)'],
  ['ALTER TABLE oracle_users ADD CONSTRAINT oracle_users_email_unique UNIQUE (email)'],
])('refused by DSQL as written, accepted as migrate() rewrites it: %s', async (sql) => {
  const verdict = verdictOf(sql);
  if (!verdict.ok) throw new Error(verdict.message);
  expect(verdict.rewrite).toBeDefined();
  expect(await answer(sql)).toBe('0A000');
  for (const step of verdict.steps) expect([step.sql, await answer(step.sql)]).toEqual([step.sql, 'ok']);
});

it('accepted as written by both', async () => {
  for (const sql of [
    'CREATE TABLE oracle_g (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY, note text)',
    'ALTER TABLE oracle_posts ADD COLUMN note text',
    'CREATE SEQUENCE oracle_seq2 CACHE 1',
    'CREATE VIEW oracle_v AS SELECT id FROM oracle_users',
  ]) {
    const verdict = verdictOf(sql);
    expect(verdict).toEqual({ ok: true, steps: [{ sql, job: false }] });
    expect([sql, await answer(sql)]).toEqual([sql, 'ok']);
  }
});
