import { jest } from '@jest/globals';
import Cursor from 'pg-cursor';
import { Kysely, sql } from 'kysely';
import { DsqlPool } from '@dsql/pg';
import { dsql } from '@dsql/postgres';
import { DsqlDialect, type DsqlDialectOptions } from '../src/index.js';
import { startLocal, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local?.stop();
});

const builders: Record<string, (options: DsqlDialectOptions) => Kysely<any>> = {
  'options (+ pg-cursor)': (o) => new Kysely({ dialect: new DsqlDialect({ ...local.connectionOptions(), max: 2, cursor: Cursor, ...o }) }),
  'pool (+ pg-cursor)': (o) => new Kysely({ dialect: new DsqlDialect({ pool: new DsqlPool({ ...local.connectionOptions(), max: 2 }), cursor: Cursor, ...o }) }),
  postgres: (o) => new Kysely({ dialect: new DsqlDialect({ postgres: dsql({ ...local.connectionOptions(), max: 2, onnotice: () => undefined }), ...o }) }),
};

describe.each(Object.keys(builders))('through %s', (name) => {
  it('streams rows', async () => {
    const db = builders[name]!({});
    try {
      const seen: number[] = [];
      const query = db.selectNoFrom(sql<number>`generate_series(1, 25)`.as('n'));
      // Kysely yields row by row; the driver reads 10 rows at a time.
      for await (const row of query.stream(10)) seen.push(Number(row.n));
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    } finally {
      await db.destroy();
    }
  });

  it('calls onReserveConnection before each checkout is used', async () => {
    let calls = 0;
    const db = builders[name]!({
      onReserveConnection: async (connection) => {
        calls++;
        await connection.executeQuery({ sql: "set statement_timeout = '7s'", parameters: [], query: { kind: 'RawNode' } } as never);
      },
    });
    try {
      const { rows } = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(db);
      expect(rows).toEqual([{ statement_timeout: '7s' }]);
      await db.selectNoFrom(sql<number>`1`.as('one')).execute();
      expect(calls).toBe(2);
    } finally {
      await db.destroy();
    }
  });
});

it('without a cursor class, streaming on node-postgres says what is missing', async () => {
  const db = new Kysely<any>({ dialect: new DsqlDialect({ ...local.connectionOptions(), max: 1 }) });
  try {
    const stream = db.selectNoFrom(sql<number>`1`.as('n')).stream();
    await expect(stream.next()).rejects.toThrow(/needs the 'cursor' option of DsqlDialect \(import Cursor from 'pg-cursor'\)/);
  } finally {
    await db.destroy();
  }
});
