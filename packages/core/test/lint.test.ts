// `@dsql/core/lint`: statements parsed with the PostgreSQL parser and judged against the rules
// catalogue (@dsql/core/rules) — every SERIAL type, every built-in type DSQL does not store in a
// column, every ALTER TABLE form and statement kind the catalogue lists as unsupported is refused
// with a fix; what DSQL needs in another form is rewritten. (Moved from @dsql/drizzle, whose tests
// keep its own fix wordings and its migrate() / check integration.)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALTER_TABLE_FORMS, CREATE_TABLE_CLAUSES, DSQL_TYPES, INDEX_ACCESS_METHOD, SERIAL_TYPES, UNSUPPORTED_STATEMENTS } from '../src/rules.js';
import { judgeStatement, lintSql, loadParser, parseStatements, type LintVerdict } from '../src/lint.js';

beforeAll(async () => {
  await loadParser();
});

/** The verdict on SQL that is one statement. */
const verdict = (sql: string): LintVerdict => {
  const [statement, ...rest] = parseStatements(sql);
  expect(rest).toEqual([]);
  return judgeStatement(statement!);
};
const stepsOf = (sql: string) => {
  const v = verdict(sql);
  if (!v.ok) throw new Error(`refused: ${v.message}`);
  return v.steps;
};

describe('statements rewritten for DSQL', () => {
  it('CREATE INDEX becomes CREATE INDEX ASYNC, awaited; CONCURRENTLY is dropped; UNIQUE kept', () => {
    expect(stepsOf('CREATE INDEX "i" ON "t" USING btree ("a");')).toEqual([{ sql: 'CREATE INDEX ASYNC "i" ON "t" USING btree ("a")', job: true }]);
    expect(stepsOf('create unique index concurrently if not exists "u" on "t" ("a")')).toEqual([
      { sql: 'CREATE UNIQUE INDEX ASYNC if not exists "u" on "t" ("a")', job: true },
    ]);
    const v = verdict('CREATE INDEX "i" ON "t" ("a")');
    expect(v.ok && v.rewrite).toMatch(/ASYNC/);
  });

  it('an index already written ASYNC (DSQL syntax the PostgreSQL parser cannot read) is kept, and awaited', () => {
    expect(verdict('-- hand-written\nCREATE INDEX ASYNC "i" ON "t" ("a");')).toEqual({ ok: true, steps: [{ sql: 'CREATE INDEX ASYNC "i" ON "t" ("a")', job: true }] });
    expect(stepsOf('CREATE INDEX ASYNC ON "t" ("a")')).toEqual([{ sql: 'CREATE INDEX ASYNC ON "t" ("a")', job: true }]);
  });

  it('a foreign key added to an existing table: NOT VALID, then ALTER TABLE ASYNC … VALIDATE CONSTRAINT', () => {
    expect(
      stepsOf(
        'ALTER TABLE "posts" ADD CONSTRAINT "posts_author_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;',
      ),
    ).toEqual([
      {
        sql: 'ALTER TABLE "posts" ADD CONSTRAINT "posts_author_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action NOT VALID',
        job: false,
      },
      { sql: 'ALTER TABLE ASYNC "posts" VALIDATE CONSTRAINT "posts_author_fk"', job: true },
    ]);
    expect(stepsOf('ALTER TABLE app.t ADD CONSTRAINT "c" CHECK (n > 0)')).toEqual([
      { sql: 'ALTER TABLE app.t ADD CONSTRAINT "c" CHECK (n > 0) NOT VALID', job: false },
      { sql: 'ALTER TABLE ASYNC "app"."t" VALIDATE CONSTRAINT "c"', job: true },
    ]);
    // A trailing comment cannot swallow the added clause.
    expect(stepsOf('ALTER TABLE t ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES u (id) -- why\n')[0]!.sql).toBe(
      'ALTER TABLE t ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES u (id) -- why\nNOT VALID',
    );
    // Already NOT VALID: sent as it is.
    expect(stepsOf('ALTER TABLE t ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES u (id) NOT VALID')).toHaveLength(1);
  });

  it('a UNIQUE constraint added to an existing table: a unique index built ASYNC, then adopted', () => {
    expect(stepsOf('ALTER TABLE "users" ADD CONSTRAINT "users_email_unique" UNIQUE("email");')).toEqual([
      { sql: 'CREATE UNIQUE INDEX ASYNC "users_email_unique" ON "users" ("email")', job: true },
      { sql: 'ALTER TABLE "users" ADD CONSTRAINT "users_email_unique" UNIQUE USING INDEX "users_email_unique"', job: false },
    ]);
  });

  it('VALIDATE CONSTRAINT is sent ASYNC', () => {
    expect(stepsOf('ALTER TABLE t VALIDATE CONSTRAINT c')).toEqual([{ sql: 'ALTER TABLE ASYNC t VALIDATE CONSTRAINT c', job: true }]);
  });

  it('plain DDL and DML are sent as written', () => {
    expect(stepsOf('CREATE TABLE "t" ("id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL, "n" bigint GENERATED ALWAYS AS IDENTITY (CACHE 1))')).toHaveLength(1);
    expect(stepsOf('ALTER TABLE "t" ADD COLUMN "bio" text')).toEqual([{ sql: 'ALTER TABLE "t" ADD COLUMN "bio" text', job: false }]);
    expect(stepsOf("INSERT INTO t (id) VALUES ('a')")).toHaveLength(1);
    expect(stepsOf('DROP TABLE "t" CASCADE')).toHaveLength(1);
  });
});

describe('statements DSQL refuses, with the rule and a fix in SQL terms', () => {
  it.each([
    ['CREATE TYPE "public"."mood" AS ENUM(\'sad\', \'happy\')', 'enum-type', /enum/i, /text column with a CHECK/],
    ['CREATE TABLE t (id serial PRIMARY KEY)', 'serial-type', /SERIAL/, /gen_random_uuid\(\)/],
    ['CREATE TABLE t (id bigserial PRIMARY KEY)', 'serial-type', /BIGSERIAL/, /GENERATED ALWAYS AS IDENTITY \(CACHE 1\)/],
    ['CREATE TABLE t (tags text[])', 'array-column', /array/, /child table/],
    ['CREATE TABLE t (id integer GENERATED ALWAYS AS IDENTITY)', 'identity-type', /must be bigint/, /bigint GENERATED/],
    ['CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY)', 'identity-cache', /CACHE/, /CACHE 1/],
    ['CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 100))', 'identity-cache', /CACHE/, /CACHE 1/],
    ['CREATE TABLE t (m money)', 'unsupported-type', /money/, /supported type/],
    ['CREATE TEMPORARY TABLE t (id uuid)', 'temporary-table', /temporary/, /regular table/],
    ['CREATE UNLOGGED TABLE t (id uuid)', 'unlogged-table', /unlogged/, /durable/],
    ['ALTER TABLE "t" ADD COLUMN "n" integer DEFAULT 0 NOT NULL', 'add-column-constraint', /ADD COLUMN "n"/, /backfill/],
    ['ALTER TABLE "t" ALTER COLUMN "n" SET DATA TYPE bigint', 'alter-column-type', /SET DATA TYPE/, /new column/],
    ['ALTER TABLE "t" ADD CONSTRAINT "t_pk" PRIMARY KEY ("id")', 'add-constraint', /PRIMARY/, /CREATE TABLE/],
    ['ALTER TABLE t ADD CONSTRAINT u UNIQUE (a), ADD COLUMN b text', 'add-constraint', /UNIQUE/, /CREATE UNIQUE INDEX ASYNC/],
    ['ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0), ADD COLUMN b text', 'constraint-with-other-actions', /among other/, /its own ALTER TABLE/],
    ['ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES u (id)', 'unnamed-constraint', /unnamed FOREIGN KEY/, /Name the constraint/],
    ['TRUNCATE t', 'unsupported-statement', /TRUNCATE/, /DELETE/],
    ['CREATE EXTENSION IF NOT EXISTS pgcrypto', 'unsupported-statement', /extensions/, /gen_random_uuid/],
    ["DO $$ BEGIN CREATE TYPE x AS ENUM ('a'); EXCEPTION WHEN duplicate_object THEN null; END $$;", 'do-block', /DO blocks/, /plain statements/],
    ['CREATE SEQUENCE s', 'sequence-cache', /CACHE/, /CACHE 1/],
    ['CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()', 'unsupported-statement', /triggers/, /application/],
    ['CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$', 'function-language', /plpgsql/, /LANGUAGE sql/],
    ['CREATE MATERIALIZED VIEW v AS SELECT 1', 'unsupported-statement', /materialized/, /regular view/],
    ['SELECT 1 INTO t2', 'unsupported-statement', /materialized/, /regular view/],
    ['VACUUM t', 'vacuum', /VACUUM/, /no vacuuming/],
    ['BEGIN', 'transaction-statement', /BEGIN/, /own transaction/],
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'set-transaction', /REPEATABLE READ/, /own transaction/],
    ['DROP TYPE "public"."mood"', 'drop-type', /DROP TYPE/, /Remove/],
    ['CREATE TYPE pair AS (a int, b int)', 'user-defined-type', /CREATE TYPE/, /composite/],
  ])('%s', (sql, rule, message, fix) => {
    const v = verdict(sql);
    if (v.ok) throw new Error(`accepted: ${sql}`);
    expect(v.rule).toBe(rule);
    expect(v.message).toMatch(message);
    expect(v.fix).toMatch(fix);
  });

  it('a fix wording given for a rule replaces the plain-SQL one; other rules keep theirs', () => {
    const fixes = { 'serial-type': 'Use uuid().defaultRandom().' };
    const [serial] = parseStatements('CREATE TABLE t (id serial)');
    expect(judgeStatement(serial!, fixes)).toMatchObject({ ok: false, rule: 'serial-type', fix: 'Use uuid().defaultRandom().' });
    const [truncate] = parseStatements('TRUNCATE t');
    expect(judgeStatement(truncate!, fixes)).toMatchObject({ ok: false, fix: expect.stringMatching(/DELETE/) });
  });
});

describe('the rules catalogue, applied', () => {
  it.each([...SERIAL_TYPES])('a %s column is refused with the UUID / identity fix', (type) => {
    expect(verdict(`CREATE TABLE t (id ${type} PRIMARY KEY)`)).toMatchObject({ ok: false, rule: 'serial-type', fix: expect.stringContaining('gen_random_uuid()') });
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
    ['ALTER TABLE t ALTER COLUMN c SET NOT NULL', 'AT_SetNotNull'],
    ['ALTER TABLE t ALTER COLUMN c SET STATISTICS 100', 'AT_SetStatistics'],
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
    expect(verdict(sql)).toEqual({ ok: false, rule: 'unsupported-statement', message: `DSQL does not support ${entry.statement}.`, fix: 'Remove it from the migration.' });
  });

  // What an ORM writes for a default / NOT NULL / identity change on an existing column: the
  // user guide's ALTER TABLE page lists these actions as supported.
  it.each([
    ['ALTER TABLE "t" ALTER COLUMN "c" SET DEFAULT 1;', 'AT_ColumnDefault'],
    ['ALTER TABLE "t" ALTER COLUMN "c" DROP DEFAULT;', 'AT_ColumnDefault'],
    ['ALTER TABLE "t" ALTER COLUMN "c" DROP NOT NULL;', 'AT_DropNotNull'],
    ['ALTER TABLE "t" ALTER COLUMN "g" DROP EXPRESSION;', 'AT_DropExpression'],
    ['ALTER TABLE "t" ALTER COLUMN "id" ADD GENERATED ALWAYS AS IDENTITY (sequence name "t_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1);', 'AT_AddIdentity'],
    ['ALTER TABLE "t" ALTER COLUMN "id" SET GENERATED BY DEFAULT;', 'AT_SetIdentity'],
    ['ALTER TABLE "t" ALTER COLUMN "id" DROP IDENTITY;', 'AT_DropIdentity'],
    ['ALTER TABLE "t" ALTER CONSTRAINT "t_p_fk" DEFERRABLE INITIALLY DEFERRED;', 'AT_AlterConstraint'],
  ])('%s is sent as written (catalogue form %s)', (sql, key) => {
    expect(ALTER_TABLE_FORMS.find((f) => f.key === key)?.supported).toBe(true);
    expect(verdict(sql)).toEqual({ ok: true, steps: [{ sql: sql.replace(/;$/, ''), job: false }] });
  });

  it('SET NOT NULL is refused with a CHECK … NOT VALID fix; identity forms keep the CACHE rule', () => {
    expect(verdict('ALTER TABLE "t" ALTER COLUMN "c" SET NOT NULL;')).toMatchObject({ ok: false, rule: 'set-not-null', fix: expect.stringContaining('CHECK ("c" IS NOT NULL)') });
    expect(verdict('ALTER TABLE t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY')).toMatchObject({ ok: false, rule: 'identity-cache' });
    expect(verdict('ALTER TABLE t ALTER COLUMN id SET CACHE 100')).toMatchObject({ ok: false, message: expect.stringContaining('CACHE') });
    expect(verdict('ALTER TABLE t ALTER COLUMN id SET CACHE 65536 RESTART')).toMatchObject({ ok: true });
    expect(verdict('ALTER TABLE t ALTER COLUMN id RESTART WITH 10')).toMatchObject({ ok: true });
  });

  it('adopts an index as UNIQUE only: PRIMARY KEY USING INDEX is not on the ALTER TABLE page', () => {
    expect(verdict('ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX u')).toMatchObject({ ok: true });
    expect(verdict('ALTER TABLE t ADD CONSTRAINT p PRIMARY KEY USING INDEX p')).toMatchObject({ ok: false });
  });

  // What AWS's dsql-lint (awslabs/aurora-dsql-tools) refuses that the judge let through: its
  // partition_by, inherits, tablespace, index_using and sequence_type rules, plus the other
  // CREATE TABLE clauses the catalogue lists as refused.
  it.each([
    ['CREATE TABLE t (a int) PARTITION BY RANGE (a)', 'partitionBy'],
    ['CREATE TABLE t_1 PARTITION OF t FOR VALUES FROM (1) TO (10)', 'partitionOf'],
    ['CREATE TABLE t (a int) INHERITS (p)', 'inherits'],
    ['CREATE TABLE t (a int) TABLESPACE ts', 'tablespace'],
    ['CREATE TABLE t (a text COLLATE "de_DE")', 'collate'],
    ['CREATE TABLE t (a int, EXCLUDE USING btree (a WITH =))', 'exclude'],
  ])('%s is refused (catalogue CREATE TABLE clause %s)', (sql, key) => {
    const clause = CREATE_TABLE_CLAUSES.find((c) => c.key === key)!;
    expect(clause.supported).toBe(false);
    expect(verdict(sql)).toMatchObject({ ok: false, rule: 'create-table-clause', message: expect.stringContaining(clause.words), fix: expect.any(String) });
  });

  it('CREATE INDEX with an access method other than B-tree is refused, ASYNC or not; USING btree is rewritten as usual', () => {
    expect(verdict('CREATE INDEX i ON t USING gin (a)')).toMatchObject({ ok: false, rule: 'index-method', message: expect.stringContaining('USING gin') });
    expect(verdict('CREATE INDEX ASYNC i ON t USING hash (a)')).toMatchObject({ ok: false, rule: 'index-method' });
    expect(verdict(`CREATE INDEX i ON t USING ${INDEX_ACCESS_METHOD} (a)`)).toMatchObject({ ok: true, rewrite: expect.stringContaining('ASYNC') });
  });

  it('CREATE SEQUENCE … AS a type other than bigint is refused; AS bigint and no AS follow the CACHE rule', () => {
    expect(verdict('CREATE SEQUENCE s AS integer CACHE 1')).toMatchObject({ ok: false, rule: 'sequence-type', message: expect.stringContaining('int4') });
    expect(verdict('CREATE SEQUENCE s AS smallint CACHE 65536')).toMatchObject({ ok: false, rule: 'sequence-type' });
    expect(verdict('CREATE SEQUENCE s AS bigint CACHE 1')).toMatchObject({ ok: true });
    expect(verdict('CREATE SEQUENCE s CACHE 65536')).toMatchObject({ ok: true });
    expect(verdict('CREATE SEQUENCE s AS bigint')).toMatchObject({ ok: false, rule: 'sequence-cache' });
  });

  // Where dsql-lint is behind DSQL in 2026 the judge keeps DSQL's rules (README: "Compared with AWS's dsql-lint").
  it('keeps what DSQL 2026 accepts and dsql-lint still refuses: foreign keys, jsonb, expression and partial indexes', () => {
    expect(verdict('CREATE TABLE t (a bigint REFERENCES p (id), FOREIGN KEY (a) REFERENCES q (id))')).toMatchObject({ ok: true });
    expect(verdict('CREATE TABLE t (d jsonb)')).toMatchObject({ ok: true });
    expect(verdict('CREATE INDEX i ON t (lower(a))')).toMatchObject({ ok: true });
    expect(verdict('CREATE INDEX i ON t (a) WHERE a > 0')).toMatchObject({ ok: true });
  });

  it('forms and statements the catalogue accepts still pass', () => {
    expect(verdict('ALTER TABLE t DROP COLUMN c')).toMatchObject({ ok: true });
    expect(verdict('ALTER TABLE t ALTER COLUMN c SET STORAGE EXTERNAL')).toMatchObject({ ok: true });
    expect(verdict('CREATE VIEW v AS SELECT 1')).toMatchObject({ ok: true });
  });
});

describe('parseStatements', () => {
  it('splits SQL with the parser, keeping semicolons inside strings', () => {
    const statements = parseStatements(
      "CREATE TABLE a (id uuid PRIMARY KEY, note text DEFAULT ';');\n-- between\nCREATE INDEX i ON a (note); INSERT INTO a (id) VALUES ('00000000-0000-4000-8000-000000000000') -- trailing\n",
    );
    expect(statements.map((s) => [s.node, s.text])).toEqual([
      ['CreateStmt', "CREATE TABLE a (id uuid PRIMARY KEY, note text DEFAULT ';')"],
      ['IndexStmt', 'CREATE INDEX i ON a (note)'],
      // A comment at the very end stays with the last statement (the parser reports no end for it).
      ['InsertStmt', "INSERT INTO a (id) VALUES ('00000000-0000-4000-8000-000000000000') -- trailing"],
    ]);
  });

  it('gives character offsets (not bytes) when the SQL has non-ASCII text', () => {
    const sql = "INSERT INTO t (s) VALUES ('héllo wörld ✓');\nCREATE TABLE ü (id uuid)";
    const [, second] = parseStatements(sql);
    expect(second!.text).toBe('CREATE TABLE ü (id uuid)');
    expect(sql.slice(second!.offset, second!.offset + second!.text.length)).toBe(second!.text);
  });

  it('offsets after a leading ASYNC statement still point at the text', () => {
    const sql = 'CREATE INDEX ASYNC i ON t (a); TRUNCATE t';
    const [first, second] = parseStatements(sql);
    expect(first).toMatchObject({ async: true, text: 'CREATE INDEX i ON t (a)', offset: 0 });
    expect(sql.slice(second!.offset, second!.offset + second!.text.length)).toBe('TRUNCATE t');
  });

  it('throws the parser error for invalid SQL', () => {
    expect(() => parseStatements('CREATE TABLE (')).toThrow(/syntax error/);
  });
});

describe('lintSql', () => {
  it('judges every statement of a text, with its line and column, across breakpoint chunks', async () => {
    const sql = 'CREATE TABLE "a" ("id" uuid PRIMARY KEY);\n--> statement-breakpoint\n  CREATE INDEX "i" ON "a" ("id");\nTRUNCATE a; -- x\n--> statement-breakpoint\nCREATE INDEX ASYNC "j" ON "a" ("id")';
    const linted = await lintSql(sql);
    expect(linted.map((s) => [s.line, s.column, s.text, s.verdict.ok ? 'ok' : s.verdict.rule])).toEqual([
      [1, 1, 'CREATE TABLE "a" ("id" uuid PRIMARY KEY)', 'ok'],
      [3, 3, 'CREATE INDEX "i" ON "a" ("id")', 'ok'],
      [4, 1, 'TRUNCATE a', 'unsupported-statement'],
      // ASYNC is taken out before parsing (the parser cannot read it) and put back in the step.
      [6, 1, 'CREATE INDEX "j" ON "a" ("id")', 'ok'],
    ]);
    for (const s of linted.slice(0, 3)) expect(sql.slice(s.offset, s.offset + s.text.length)).toBe(s.text);
    expect(linted[3]!.verdict).toEqual({ ok: true, steps: [{ sql: 'CREATE INDEX ASYNC "j" ON "a" ("id")', job: true }] });
  });

  it('a chunk that does not parse is one syntax-error finding, and the next chunks are still judged', async () => {
    const linted = await lintSql('SELECT 1;\n--> statement-breakpoint\n\nCREATE TABLE (\n--> statement-breakpoint\nVACUUM');
    expect(linted.map((s) => [s.line, s.verdict.ok ? 'ok' : s.verdict.rule])).toEqual([
      [1, 'ok'],
      [4, 'syntax-error'],
      [6, 'vacuum'],
    ]);
    expect(linted[1]!.verdict).toMatchObject({ message: expect.stringMatching(/^syntax error: /), fix: expect.stringContaining('chunk of its own') });
    const fixes = { 'syntax-error': 'Regenerate the migration.' };
    expect((await lintSql('CREATE TABLE (', { fixes }))[0]!.verdict).toMatchObject({ ok: false, fix: 'Regenerate the migration.' });
  });
});

describe('the @dsql/core/lint entry', () => {
  it('is the only way to the parser: libpg-query is imported by lint/parse.ts alone, and lint/ only by lint.ts', () => {
    const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const importers = (pattern: RegExp) => files.filter((f) => pattern.test(readFileSync(join(src, f), 'utf8'))).map((f) => relative('.', f)).sort();
    expect(importers(/['"]libpg-query['"]/)).toEqual([join('lint', 'parse.ts')]);
    const outside = importers(/from '\.\.?\/lint(\/[a-z-]+)?\.js'/).filter((f) => !f.startsWith(`lint${'/'}`));
    expect(outside).toEqual(['lint.ts']);
  });
});
