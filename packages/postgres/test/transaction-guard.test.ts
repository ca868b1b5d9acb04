import { isDsqlError } from '@dsql/core';
import { assertBeginOptions } from '../src/transaction-guard.js';

describe('assertBeginOptions', () => {
  it.each(['', 'read write', 'read only', 'isolation level repeatable read', 'ISOLATION LEVEL REPEATABLE READ read only'])(
    'accepts %j',
    (options) => expect(() => assertBeginOptions(options)).not.toThrow(),
  );

  it.each(['isolation level serializable', 'isolation level read committed', 'read write isolation level read uncommitted'])(
    'refuses %j with DsqlUnsupportedError naming the level',
    (options) => {
      let err: unknown;
      try {
        assertBeginOptions(options);
      } catch (e) {
        err = e;
      }
      expect(isDsqlError(err, 'unsupported-feature')).toBe(true);
      expect((err as Error).message).toMatch(/REPEATABLE READ/);
      expect((err as Error).message).toContain(options.replace(/^.*level /, '').toLowerCase());
    },
  );
});

describe('transaction() argument', () => {
  it('refuses a transaction tx (a nested transaction) with DsqlUnsupportedError', async () => {
    const { transaction } = await import('@dsql/postgres');
    const txLike = Object.assign(() => undefined, { unsafe: () => undefined, savepoint: () => undefined });
    const err = await transaction(txLike as never, () => 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isDsqlError(err, 'unsupported-feature')).toBe(true);
    expect((err as Error).message).toMatch(/nest/);
  });
});
