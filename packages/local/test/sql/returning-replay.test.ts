import { loadSqlParser } from '../../src/sql/index.js';
import { returningReplaySql } from '../../src/sql/returning-replay.js';

// What the rewritten SELECTs return is checked against PostgreSQL in test/occ.test.ts; here, which
// statements are rewritten and how names are handled.
beforeAll(() => loadSqlParser());

describe('returningReplaySql', () => {
  it('turns DELETE … RETURNING into a SELECT of the rows as they are', () => {
    expect(returningReplaySql('DELETE FROM accounts a WHERE a.id = $1 RETURNING a.id, balance')).toBe('SELECT a.id, balance FROM accounts AS a WHERE a.id = $1');
  });

  it('computes UPDATE … RETURNING rows with their new values, typed as the columns, names unqualified', () => {
    const sql = returningReplaySql('UPDATE "public"."Account" SET "balance" = $1 WHERE "public"."Account"."id" = $2 RETURNING "public"."Account"."id", "public"."Account"."balance"');
    expect(sql).toBe(
      `SELECT id, balance FROM (SELECT (jsonb_populate_record("Account", jsonb_build_object('balance', CASE WHEN false THEN "Account"."balance" ELSE ($1) END))).* FROM public."Account" WHERE public."Account".id = $2) AS "Account"`,
    );
  });

  it('keeps RETURNING * and expressions', () => {
    expect(returningReplaySql('update t as x set n = x.n + 1, m = $1 returning *, n * 2 as twice')).toBe(
      `SELECT *, n * 2 AS twice FROM (SELECT (jsonb_populate_record("x", jsonb_build_object('n', CASE WHEN false THEN "x"."n" ELSE (x.n + 1) END, 'm', CASE WHEN false THEN "x"."m" ELSE ($1) END))).* FROM t AS x) AS "x"`,
    );
  });

  it.each([
    ['no RETURNING', 'UPDATE t SET n = 1'],
    ['a SELECT', 'SELECT 1 AS returning'],
    ['an INSERT', 'INSERT INTO t VALUES (1) RETURNING id'],
    ['UPDATE … FROM', 'UPDATE t SET n = u.n FROM u WHERE t.id = u.id RETURNING t.n'],
    ['DELETE … USING', 'DELETE FROM t USING u WHERE t.id = u.id RETURNING t.id'],
    ['a WITH clause', 'WITH x AS (SELECT 1) UPDATE t SET n = 1 RETURNING n'],
    ['a multi-column assignment', 'UPDATE t SET (a, b) = (1, 2) RETURNING a'],
    ['a subscripted assignment', 'UPDATE t SET a[1] = 2 RETURNING a'],
    ['another table named in RETURNING', 'UPDATE t SET n = 1 RETURNING u.n'],
    ['two statements', 'UPDATE t SET n = 1 RETURNING n; UPDATE t SET n = 2 RETURNING n'],
    ['text the parser rejects', 'UPDATE t SET RETURNING'],
  ])('leaves %s alone (undefined)', (_name, sql) => {
    expect(returningReplaySql(sql)).toBeUndefined();
  });
});
