import { assertNoSavepoint } from '../src/savepoint-guard.js';
import { isDsqlError } from '@dsql/core';

describe('assertNoSavepoint', () => {
  it.each([
    'SAVEPOINT a',
    'savepoint a',
    '  \n\tSAVEPOINT a',
    'RELEASE SAVEPOINT a',
    'release a',
    'ROLLBACK TO SAVEPOINT a',
    'rollback   to a',
    'ROLLBACK TRANSACTION TO a',
    '-- comment\nSAVEPOINT a',
    '/* c */ SAVEPOINT a',
    '/* multi\nline */ -- x\n RELEASE a',
  ])('refuses %j', (sql) => {
    let caught: unknown;
    try {
      assertNoSavepoint(sql);
    } catch (err) {
      caught = err;
    }
    expect(isDsqlError(caught, 'unsupported-feature')).toBe(true);
    expect((caught as Error).message).toMatch(/not supported by Aurora DSQL/);
  });

  it('reads the text of a query config object', () => {
    expect(() => assertNoSavepoint({ text: 'SAVEPOINT x', values: [] })).toThrow(/SAVEPOINT is not supported/);
  });

  it.each([
    'SELECT 1',
    'ROLLBACK',
    'rollback',
    'COMMIT',
    "SELECT 'SAVEPOINT a'",
    'UPDATE t SET release = 1',
    'SELECT * FROM savepoints',
    'releases',
  ])('lets %j through', (sql) => {
    expect(() => assertNoSavepoint(sql)).not.toThrow();
  });

  it('ignores things that are not SQL text (submittables)', () => {
    expect(() => assertNoSavepoint({ submit() {} })).not.toThrow();
    expect(() => assertNoSavepoint(undefined)).not.toThrow();
  });
});
