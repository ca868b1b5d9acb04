import { jest } from '@jest/globals';
import { PostgresIntrospector, sql, type Kysely } from 'kysely';
import { DsqlJobError, transaction } from '../src/index.js';
import { database, startLocal, type DriverKind, type DsqlLocal } from './support/local.js';

jest.setTimeout(60_000);

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal();
});
afterAll(async () => {
  await local?.stop();
});

const jobStatus = async (db: Kysely<any>, index: string): Promise<string[]> =>
  (await sql<{ status: string }>`select status from sys.jobs where object_name = ${index}`.execute(db)).rows.map((r) => r.status);

describe.each<DriverKind>(['options', 'postgres'])('schema through the %s driver', (kind) => {
  const t = (name: string): string => `s_${kind}_${name}`;
  let db: Kysely<any>;
  beforeAll(async () => {
    db = database(local, kind);
    await db.schema
      .createTable(t('items'))
      .addColumn('id', 'bigint', (c) => c.generatedByDefaultAsIdentity().primaryKey())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('note', 'text')
      .execute();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('identity columns compile to what DSQL accepts', async () => {
    const rows = await db.insertInto(t('items')).values([{ sku: 'a' }, { sku: 'a' }]).returning('id').execute();
    expect(rows.map((r) => Number(r.id))).toEqual([1, 2]);
  });

  it('createIndex() waits for the index job by default', async () => {
    await db.schema.createIndex(t('by_sku')).on(t('items')).column('sku').execute();
    expect(await jobStatus(db, t('by_sku'))).toEqual(['completed']);
  });

  it('waitForIndexes: false answers the job id at once', async () => {
    const quick = database(local, kind, { waitForIndexes: false });
    try {
      const { rows } = await quick.executeQuery(quick.schema.createIndex(t('by_note')).on(t('items')).column('note').compile());
      expect(rows).toEqual([{ job_id: expect.stringMatching(/^[a-z2-7]{26}$/) }]);
      expect(await jobStatus(quick, t('by_note'))).toEqual(['processing']);
    } finally {
      await quick.destroy();
    }
  });

  it('an index created in a transaction is waited for after COMMIT', async () => {
    await transaction(db, async (trx) => {
      await trx.schema.createIndex(t('by_id_sku')).on(t('items')).columns(['id', 'sku']).execute();
    });
    expect(await jobStatus(db, t('by_id_sku'))).toEqual(['completed']);
  });

  it('a failed index build rejects instead of passing silently', async () => {
    // Two rows share sku 'a': the unique index build fails (DSQL accepts the statement; the job fails).
    const err = await db.schema.createIndex(t('unique_sku')).unique().on(t('items')).column('sku').execute().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DsqlJobError);
    expect((err as DsqlJobError).jobId).toMatch(/^[a-z2-7]{26}$/);
    expect((err as Error).message).toMatch(/^DSQL job [a-z2-7]{26} did not complete: .*failed.*The statement that started it was committed; check sys\.jobs\.$/);
    expect(await jobStatus(db, t('unique_sku'))).toEqual([]); // no index object: the build failed
  });

  it('a connection lost while waiting for the job after COMMIT is a DsqlJobError, never retried', async () => {
    let runs = 0;
    local.inject({ on: 'query', match: 'sys.wait_for_job', drop: true });
    const err = await transaction(db, async (trx) => {
      runs++;
      await trx.schema.createIndex(t('by_note_sku')).on(t('items')).columns(['note', 'sku']).execute();
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DsqlJobError);
    expect(runs).toBe(1);
    // The index was committed (its job ran on): retrying would have failed with "already exists".
    const indexes = await sql<{ indexname: string }>`select indexname from pg_indexes where indexname = ${t('by_note_sku')}`.execute(db);
    expect(indexes.rows).toHaveLength(1);
  });

  it('db.introspection lists the application tables and views, not DSQL\'s sys schema', async () => {
    await sql`create view ${sql.id(t('skus'))} as select sku from ${sql.id(t('items'))}`.execute(db);
    const tables = await db.introspection.getTables();
    const items = tables.find((x) => x.name === t('items'));
    expect(items).toMatchObject({ schema: 'public', isView: false });
    expect(items?.columns.map((c) => [c.name, c.dataType, c.isNullable, c.isAutoIncrementing])).toEqual([
      ['id', 'int8', false, true],
      ['sku', 'text', false, false],
      ['note', 'text', true, false],
    ]);
    expect(tables.find((x) => x.name === t('skus'))).toMatchObject({ isView: true });
    expect(tables.filter((x) => x.schema === 'sys')).toEqual([]);
    expect((await db.introspection.getSchemas()).map((s) => s.name)).not.toContain('sys');
    // Kysely's own PostgreSQL introspector would list DSQL's sys.jobs view as an application table.
    const plain = await new PostgresIntrospector(db).getTables();
    expect(plain.some((x) => x.schema === 'sys' && x.name === 'jobs')).toBe(true);
  });
});
