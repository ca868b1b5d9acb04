// The migration check refuses what core's rules catalogue (@dsql/core/rules) says DSQL refuses:
// every SERIAL type, every built-in type DSQL does not store in a column, every ALTER TABLE form
// and statement kind the catalogue lists as unsupported — with Drizzle's fix beside each.
import { ALTER_TABLE_FORMS, DSQL_TYPES, SERIAL_TYPES, UNSUPPORTED_STATEMENTS } from '@dsql/core/rules';
import { judge } from '../src/migrations/rules.js';
import { loadParser, parseChunk } from '../src/migrations/statements.js';

beforeAll(async () => {
  await loadParser();
});

const verdict = (sql: string) => {
  const [statement, ...rest] = parseChunk(sql);
  expect(rest).toEqual([]);
  return judge(statement!);
};

it.each([...SERIAL_TYPES])('a %s column is refused with the UUID / identity fix', (type) => {
  expect(verdict(`CREATE TABLE t (id ${type} PRIMARY KEY)`)).toMatchObject({ ok: false, fix: expect.stringContaining('defaultRandom()') });
});

const notColumns = DSQL_TYPES.filter((t) => t.support !== 'column' && /^[a-z_0-9]+$/.test(t.name));
it.each(notColumns.map((t) => t.name))('a column of type pg_catalog.%s is refused', (type) => {
  expect(verdict(`CREATE TABLE t (c pg_catalog.${type})`)).toMatchObject({ ok: false, message: expect.stringContaining('which DSQL does not store') });
});

it.each(DSQL_TYPES.filter((t) => t.support === 'column').map((t) => t.name))('a column of type pg_catalog.%s is accepted', (type) => {
  expect(verdict(`CREATE TABLE t (c pg_catalog.${type})`)).toMatchObject({ ok: true });
});

it('identity columns: bigint with CACHE 1 or >= 65536, as the catalogue says', () => {
  expect(verdict('CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 65536))')).toMatchObject({ ok: true });
  expect(verdict('CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 65535))')).toMatchObject({ ok: false });
  expect(verdict('CREATE TABLE t (id integer GENERATED ALWAYS AS IDENTITY (CACHE 1))')).toMatchObject({ ok: false, message: expect.stringContaining('must be bigint') });
});

it.each([
  ['ALTER TABLE t ALTER COLUMN c SET DEFAULT 1', 'AT_ColumnDefault'],
  ['ALTER TABLE t ALTER COLUMN c SET NOT NULL', 'AT_SetNotNull'],
  ['ALTER TABLE t ALTER COLUMN c DROP NOT NULL', 'AT_DropNotNull'],
  ['ALTER TABLE t ENABLE ROW LEVEL SECURITY', 'AT_EnableRowSecurity'],
])('%s is refused (catalogue form %s)', (sql, key) => {
  const form = ALTER_TABLE_FORMS.find((f) => f.key === key)!;
  expect(form.supported).toBe(false);
  expect(verdict(sql)).toMatchObject({ ok: false, message: expect.stringContaining(form.words) });
});

it.each([
  ['LOCK TABLE t', 'LockStmt'],
  ['ALTER SYSTEM SET work_mem = 1', 'AlterSystemStmt'],
  ['CREATE POLICY p ON t USING (true)', 'CreatePolicyStmt'],
])('%s is refused (catalogue statement %s)', (sql, node) => {
  const entry = UNSUPPORTED_STATEMENTS.find((s) => s.node === node)!;
  expect(verdict(sql)).toEqual({ ok: false, message: `DSQL does not support ${entry.statement}.`, fix: 'Remove it from the migration.' });
});

it('forms and statements the catalogue accepts still pass', () => {
  expect(verdict('ALTER TABLE t DROP COLUMN c')).toMatchObject({ ok: true });
  expect(verdict('ALTER TABLE t ALTER COLUMN c SET STORAGE EXTERNAL')).toMatchObject({ ok: true });
  expect(verdict('CREATE VIEW v AS SELECT 1')).toMatchObject({ ok: true });
});
