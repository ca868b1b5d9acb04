import { createAnalyzer, loadSqlParser, stripAsyncKeyword } from '../../src/sql/index.js';

beforeAll(() => loadSqlParser());

describe('stripAsyncKeyword', () => {
  it.each([
    ['CREATE INDEX ASYNC i ON t (v)', 'CREATE INDEX i ON t (v)'],
    ['create unique index async i on t (v)', 'create unique index i on t (v)'],
    ['CREATE INDEX ASYNC IF NOT EXISTS i ON t (v)', 'CREATE INDEX IF NOT EXISTS i ON t (v)'],
    ['CREATE INDEX ASYNC ON t (v)', 'CREATE INDEX ON t (v)'],
    ['/* c; */ -- x;\nCREATE INDEX ASYNC i ON t (v)', '/* c; */ -- x;\nCREATE INDEX i ON t (v)'],
    ['ALTER TABLE ASYNC t VALIDATE CONSTRAINT c', 'ALTER TABLE t VALIDATE CONSTRAINT c'],
  ])('removes the keyword: %s', (sql, expected) => {
    expect(stripAsyncKeyword(sql).sql).toBe(expected);
  });

  it('finds the keyword in every statement of a multi-statement text, and only there', () => {
    const sql = "SELECT 'CREATE INDEX ASYNC x'; SELECT $a$;CREATE INDEX ASYNC$a$; CREATE INDEX ASYNC i ON t (v)";
    const out = stripAsyncKeyword(sql);
    expect(out.sql).toBe("SELECT 'CREATE INDEX ASYNC x'; SELECT $a$;CREATE INDEX ASYNC$a$; CREATE INDEX i ON t (v)");
    expect(out.asyncAt).toEqual([out.sql.lastIndexOf(' i ON') + 1]);
  });

  it('leaves a quoted identifier named async and other positions alone', () => {
    for (const sql of ['CREATE INDEX "ASYNC" ON t (v)', 'SELECT async FROM t', 'CREATE TABLE async (id int)']) {
      expect(stripAsyncKeyword(sql)).toEqual({ sql, asyncAt: [] });
    }
  });
});

describe('analyzer', () => {
  const analyze = createAnalyzer();

  it('rewrites CREATE INDEX ASYNC into a job that answers a job_id row tagged CREATE INDEX', () => {
    const a = analyze('CREATE INDEX ASYNC i ON t (v)');
    expect(a.refusal).toBeUndefined();
    expect(a.upstreamSql).toBe("SELECT sys.dsql_local_run_job('INDEX_BUILD', $dsql$CREATE INDEX i ON t (v)$dsql$) AS job_id");
    expect(a.commandTags).toEqual(['CREATE INDEX']);
    expect(a.statements).toEqual([{ node: 'IndexStmt', kind: 'ddl', async: true }]);
  });

  it('keeps dollar quotes in the statement intact when quoting it for the job', () => {
    const a = analyze("CREATE INDEX ASYNC i ON t (v) WHERE v <> $dsql$x$dsql$");
    expect(a.upstreamSql).toContain("$dsql0$CREATE INDEX i ON t (v) WHERE v <> $dsql$x$dsql$$dsql0$");
  });

  it('gives one tag override per statement of a multi-statement text', () => {
    const a = analyze('BEGIN; CREATE INDEX ASYNC i ON t (a); COMMIT');
    expect(a.commandTags).toEqual([undefined, 'CREATE INDEX', undefined]);
    expect(a.upstreamSql).toBe("BEGIN;SELECT sys.dsql_local_run_job('INDEX_BUILD', $dsql$CREATE INDEX i ON t (a)$dsql$) AS job_id; COMMIT");
  });

  it('keeps statement boundaries right in text with multi-byte characters', () => {
    const a = analyze("SELECT 'ünï'; CREATE INDEX ASYNC ï ON t (v); SELECT 'ü'");
    expect(a.statements.map((st) => st.async)).toEqual([false, true, false]);
    expect(a.upstreamSql).toBe(
      "SELECT 'ünï';SELECT sys.dsql_local_run_job('INDEX_BUILD', $dsql$CREATE INDEX ï ON t (v)$dsql$) AS job_id; SELECT 'ü'",
    );
  });

  it('answers SHOW server_version with DSQL’s version', () => {
    expect(analyze('SHOW server_version')).toMatchObject({
      upstreamSql: "SELECT '16.15'::text AS server_version",
      commandTags: ['SHOW'],
    });
    expect(createAnalyzer({ serverVersion: '16.9' })('show SERVER_VERSION_NUM').upstreamSql).toBe(
      "SELECT '160009'::text AS server_version_num",
    );
  });

  it('checks DROP COLUMN against the primary key upstream', () => {
    const a = analyze('ALTER TABLE "My Table" DROP COLUMN id, DROP COLUMN "it\'s"');
    expect(a.upstreamSql).toContain(`sys.dsql_local_assert_droppable_columns('"My Table"', ARRAY['id', 'it''s']::text[])`);
    expect(a.commandTags).toEqual(['ALTER TABLE']);
  });

  it('checks that an index adopted as a constraint is built, upstream', () => {
    const a = analyze('ALTER TABLE s.t ADD CONSTRAINT u UNIQUE USING INDEX i');
    expect(a.upstreamSql).toBe(
      `DO $dsql0$BEGIN PERFORM sys.dsql_local_assert_index_built('"s"."i"'); EXECUTE $dsql$ALTER TABLE s.t ADD CONSTRAINT u UNIQUE USING INDEX i$dsql$; END$dsql0$`,
    );
    expect(analyze('ALTER TABLE t ADD COLUMN c text').upstreamSql).toBeUndefined();
  });

  it('handles parameters of the extended protocol', () => {
    expect(analyze('SELECT id FROM t WHERE id = $1 FOR SHARE').refusal?.message).toBe(
      'locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported',
    );
    expect(analyze('INSERT INTO t (id) VALUES ($1)')).toMatchObject({ writesRows: true, statements: [{ kind: 'dml' }] });
    expect(analyze('SELECT * FROM t WHERE id = $1 FOR UPDATE').refusal).toBeUndefined();
  });

  it('finds locking clauses and writes in subqueries and CTEs', () => {
    expect(analyze('SELECT * FROM (SELECT * FROM t FOR NO KEY UPDATE) s').refusal?.code).toBe('0A000');
    expect(analyze('WITH d AS (DELETE FROM t RETURNING id) SELECT count(*) FROM d')).toMatchObject({
      writesRows: true,
      statements: [{ kind: 'dml' }],
    });
  });

  it('refuses advisory locks', () => {
    expect(analyze('SELECT pg_advisory_lock($1)').refusal).toEqual({
      code: '0A000',
      message: 'function pg_advisory_lock not supported',
    });
    expect(analyze('SELECT pg_catalog.pg_try_advisory_xact_lock(1)').refusal?.message).toBe(
      'function pg_try_advisory_xact_lock not supported',
    );
  });

  it('refuses other isolation levels by name, and SET TRANSACTION in any form', () => {
    expect(analyze('BEGIN ISOLATION LEVEL READ COMMITTED').refusal?.message).toBe('Unsupported isolation level: READ COMMITTED');
    expect(analyze('START TRANSACTION ISOLATION LEVEL REPEATABLE READ').refusal).toBeUndefined();
    expect(analyze('SET TRANSACTION READ WRITE').refusal?.message).toBe('setting configuration parameter "TRANSACTION" not supported');
  });

  it('refuses partitioned and inheriting tables (documented as unsupported)', () => {
    expect(analyze('CREATE TABLE p (id int) PARTITION BY RANGE (id)').refusal?.message).toBe(
      'PARTITION BY not supported for CREATE TABLE',
    );
    expect(analyze('CREATE TABLE c (x int) INHERITS (p)').refusal?.message).toBe('INHERITS not supported for CREATE TABLE');
    expect(analyze('CREATE TABLE c PARTITION OF p FOR VALUES FROM (1) TO (2)').refusal?.message).toBe(
      'PARTITION OF not supported for CREATE TABLE',
    );
  });

  it('classifies GRANT / REVOKE as DDL and reads as reads', () => {
    expect(analyze('GRANT SELECT ON t TO r').statements[0]?.kind).toBe('ddl');
    expect(analyze('REVOKE SELECT ON t FROM r').statements[0]?.kind).toBe('ddl');
    expect(analyze('SELECT 1').statements[0]?.kind).toBe('read');
    expect(analyze('COPY t FROM STDIN')).toMatchObject({ writesRows: true });
  });

  it('leaves syntax errors to PostgreSQL, with ASYNC removed', () => {
    expect(analyze('SELEC 1')).toMatchObject({ statements: [], syntaxError: 'syntax error at or near "SELEC"' });
    expect(analyze('SELEC 1').upstreamSql).toBeUndefined();
    expect(analyze('CREATE INDEX ASYNC public.i ON t (v)').upstreamSql).toBe('CREATE INDEX public.i ON t (v)');
  });

  it('caches one analysis per text, bounded', () => {
    const small = createAnalyzer({ cacheSize: 2 });
    const first = small('SELECT 1');
    expect(small('SELECT 1')).toBe(first);
    small('SELECT 2');
    small('SELECT 3');
    expect(small('SELECT 1')).not.toBe(first);
    expect(small('SELECT 1')).toEqual(first);
  });
});
