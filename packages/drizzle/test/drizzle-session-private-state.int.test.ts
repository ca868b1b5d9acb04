// Pins what src/drizzle-session-private-state.ts reads of Drizzle's private state (the
// node-postgres session behind db: its client, dialect and schema; NodePgTransaction's
// constructor) to the drizzle-orm versions this package supports (its peer range, 0.36–0.45 at
// the time of writing): run against the installed drizzle-orm (the test matrix installs the
// lowest and the highest of the range), it fails when a version changes one of them.
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { entityKind, sql } from 'drizzle-orm';
import { integer, pgTable } from 'drizzle-orm/pg-core';
import { drizzle } from '@dsql/drizzle';
import { isPool, nodePgSessionOf, transactionOn } from '../src/drizzle-session-private-state.js';
import { drizzle as drizzlePostgresJs } from '@dsql/drizzle/postgres-js';
import { adminQuery, startDsqlLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(30_000);

const privTable = pgTable('priv_t', { id: integer('id').primaryKey() });
const schema = { privTable };
let local: DsqlLocal;

beforeAll(async () => {
  local = await startDsqlLocal();
  await adminQuery(local, 'DROP TABLE IF EXISTS priv_t; CREATE TABLE priv_t (id int PRIMARY KEY); INSERT INTO priv_t VALUES (7)');
});

afterAll(async () => {
  await local?.stop();
});

const version = (text: string): number[] => text.split(/[.-]/).slice(0, 3).map(Number);
const atLeast = (v: number[], min: number[]): boolean => v[0]! !== min[0]! ? v[0]! > min[0]! : v[1]! !== min[1]! ? v[1]! > min[1]! : v[2]! >= min[2]!;

it("the installed drizzle-orm is in the package's peer range (the versions this file's reads are checked on)", () => {
  // drizzle-orm's exports map does not list package.json: read it where the package resolves.
  const json = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
  const installed = (json('../node_modules/drizzle-orm/package.json') as { version: string }).version;
  const range = (json('../package.json') as { peerDependencies: Record<string, string> }).peerDependencies['drizzle-orm'];
  expect(range).toBe('>=0.36.0 <1'); // widen this test's claim together with the range
  expect([installed, atLeast(version(installed), [0, 36, 0]) && version(installed)[0] === 0]).toEqual([installed, true]);
});

it("reads db's NodePgSession: its pool client, dialect and schema", async () => {
  const db = drizzle({ connection: local.connectionOptions(), schema });
  try {
    const session = nodePgSessionOf(db)!;
    expect(session).toBeDefined();
    expect(session.client).toBe(db.$client);
    expect(isPool(session)).toBe(true);
    expect((session.dialect as { constructor: { [entityKind]?: unknown } }).constructor[entityKind]).toBe('PgDialect');
    expect(session.schema).toMatchObject({ fullSchema: schema, tableNamesMap: expect.any(Object) });
  } finally {
    await db.$client.end();
  }
});

it("builds Drizzle's NodePgTransaction on a checked-out client: queries, relational queries and the session's fields on that client", async () => {
  const db = drizzle({ connection: local.connectionOptions(), schema });
  const session = nodePgSessionOf(db)!;
  const client = await db.$client.connect();
  try {
    const tx = (await transactionOn(session, client)) as unknown as typeof db & { session: { client: unknown } };
    expect((tx.constructor as { [entityKind]?: unknown })[entityKind]).toBe('NodePgTransaction');
    expect(tx.session.client).toBe(client);
    const [{ pid }] = (await client.query('SELECT pg_backend_pid() AS pid')).rows;
    expect((await tx.execute(sql`SELECT pg_backend_pid() AS pid`)).rows).toEqual([{ pid }]);
    expect(await tx.query.privTable.findMany()).toEqual([{ id: 7 }]);
    expect(db.$client.totalCount).toBe(1); // nothing else was checked out
  } finally {
    client.release();
    await db.$client.end();
  }
});

it('a single pg client is not a pool; a Postgres.js database has no NodePgSession', async () => {
  const { DsqlClient } = await import('@dsql/pg');
  const single = drizzle(new DsqlClient(local.connectionOptions()));
  expect(isPool(nodePgSessionOf(single)!)).toBe(false);
  const pgjs = drizzlePostgresJs({ connection: local.connectionOptions() });
  expect(nodePgSessionOf(pgjs)).toBeUndefined();
  await pgjs.$client.end({ timeout: 5 });
});
