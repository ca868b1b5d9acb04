// err.dsql on @dsql/postgres's errors, against @dsql/local: the same refusals, with the same
// fields, as the other adapters' error-funnel tests (pg, kysely, drizzle). Runs on Postgres.js 4
// and 3.4 (jest.postgres-v3.config.cjs): 3.4 publishes no diagnostics_channel events, so there a
// plain query's error is Postgres.js's own and only dsql()'s own exits add err.dsql.
import postgres from 'postgres';
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { classifyError, isDsqlError, isOccError, isTransientError, type ClassifiedError } from '@dsql/core';
import { dsql, transaction } from '@dsql/postgres';

declare const POSTGRES_JS_VERSION: string;
const PUBLISHES_QUERY_EVENTS = !POSTGRES_JS_VERSION.startsWith('3.');

const UNSUPPORTED = { kind: 'unsupported', retryable: false, sqlstate: '0A000' };
const OCC = { kind: 'occ-conflict', retryable: true, sqlstate: '40001' };
const LIMIT = { kind: 'limit-exceeded', retryable: false, sqlstate: '54000' };
const DENIED = { kind: 'access-denied', retryable: false, sqlstate: '08006' };
const ACCESS_DENIED = { code: '08006', message: 'unable to accept connection, access denied' };

let local: DsqlLocal;
let sql: postgres.Sql;

async function failure(p: PromiseLike<unknown>): Promise<ClassifiedError> {
  const err = await Promise.resolve(p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as ClassifiedError;
}

function expectDsql(err: ClassifiedError, expected: Record<string, unknown>): void {
  expect(Object.keys(err)).toContain('dsql');
  expect(err.dsql).toMatchObject(expected);
  expect(Object.isFrozen(err.dsql)).toBe(true);
  expect(typeof err.dsql.hint).toBe('string');
  expect(err.dsql.kind).toBe(classifyError(err).kind);
}

/** A plain query's error: err.dsql on Postgres.js 4; on 3.4 Postgres.js's own error, classified alike by classifyError. */
function expectQueryDsql(err: ClassifiedError, expected: Record<string, unknown>): void {
  if (PUBLISHES_QUERY_EVENTS) return expectDsql(err, expected);
  expect(err).not.toHaveProperty('dsql');
  expect(classifyError(err)).toMatchObject(expected);
}

beforeAll(async () => {
  local = await startDsqlLocal();
  const setup = postgres(local.upstreamUrl, { onnotice: () => {} });
  await setup`create table if not exists funnel (id int primary key, n int not null)`;
  await setup`insert into funnel values (1, 0) on conflict do nothing`;
  await setup`create table if not exists funnel_rows (id int primary key)`;
  await setup.end();
  sql = dsql({ ...local.connectionOptions(), max: 4, onnotice: () => {} });
}, 60_000);

afterAll(async () => {
  await sql?.end();
  await local?.stop();
});

describe('@dsql/postgres errors carry err.dsql', () => {
  it('a statement DSQL refuses (0A000): a query, and out of sql.begin() / transaction()', async () => {
    const err = await failure(sql`truncate funnel`);
    expect(err).toBeInstanceOf(postgres.PostgresError);
    expectQueryDsql(err, UNSUPPORTED);
    expectDsql(await failure(sql.begin((tx) => tx`truncate funnel`)), UNSUPPORTED);
    expectDsql(await failure(transaction(sql, (tx) => tx`truncate funnel`, false)), UNSUPPORTED);
  });

  it("leaves the errors of another Postgres.js sql in the process alone (not a dsql() endpoint)", async () => {
    const plain = postgres(local.upstreamUrl, { max: 1, onnotice: () => {} });
    try {
      const err = await failure(plain`select * from no_such_table_here`);
      expect(err).toMatchObject({ code: '42P01' });
      expect(err).not.toHaveProperty('dsql');
    } finally {
      await plain.end();
    }
  });

  it('an OCC conflict between two transactions (40001), also out of transaction()', async () => {
    const a = await sql.reserve();
    const b = await sql.reserve();
    try {
      await a`begin`;
      await b`begin`;
      await a`select n from funnel where id = 1`;
      await b`select n from funnel where id = 1`;
      await b`update funnel set n = n + 1 where id = 1`;
      await b`commit`;
      const err = await failure(a`update funnel set n = n + 1 where id = 1`.then(() => a`commit`));
      expectQueryDsql(err, OCC);
      expect(isOccError(err)).toBe(true);
      await a`rollback`.catch(() => undefined);
    } finally {
      a.release();
      b.release();
    }
    local.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction (OC000)' } });
    const err = await failure(transaction(sql, (tx) => tx`update funnel set n = n + 1 where id = 1`, false));
    expectDsql(err, OCC);
    expect(isOccError(err)).toBe(true);
  });

  it('a transaction limit (54000): more than 3,000 modified rows', async () => {
    const err = await failure(sql`insert into funnel_rows select g from generate_series(1, 3001) g`);
    expectQueryDsql(err, LIMIT);
    expect(isTransientError(err)).toBe(false);
  });

  it('a refused connection (access denied): the DsqlConnectError carries err.dsql', async () => {
    const fresh = dsql({ ...local.connectionOptions(), max: 1 });
    try {
      local.inject({ on: 'connect', error: ACCESS_DENIED });
      const err = await failure(fresh`select 1`);
      expect(isDsqlError(err, 'connect-failed')).toBe(true);
      expectDsql(err, DENIED);
      expect(err.dsql.hint).toMatch(/Region|DbConnect/);
      expect(isTransientError(err)).toBe(false);
    } finally {
      await fresh.end();
    }
  });

  it('a transient refusal that outlasts connect_timeout (53400) is retryable and transient', async () => {
    const fresh = dsql({ ...local.connectionOptions(), max: 1, connect_timeout: 1 });
    try {
      // The last test: the emulator stops afterwards, with whatever is left of the fault.
      local.inject({ on: 'connect', error: { code: '53400', message: 'Unable to accept connection, rate exceeded.' }, times: 1_000 });
      const err = await failure(fresh`select 1`);
      expectDsql(err, { kind: 'rate-limited', retryable: true });
      expect(isTransientError(err)).toBe(true);
    } finally {
      await fresh.end();
    }
  });
});
