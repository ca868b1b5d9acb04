import { DSQL_OPTION_KEYS, withoutDsqlOptions, type DsqlConnectionOptions } from '../src/index.js';

describe('withoutDsqlOptions', () => {
  it('keeps only the driver options: every shared DSQL option and the adapter keys named are dropped', () => {
    const shared = Object.fromEntries(DSQL_OPTION_KEYS.map((key) => [key, `value of ${key}`]));
    const marker = Symbol('marker');
    const input = { ...shared, max: 10, idleTimeoutMillis: 5000, queryRetry: true, [marker]: 'kept' };
    expect(withoutDsqlOptions(input, ['queryRetry'])).toEqual({ max: 10, idleTimeoutMillis: 5000, [marker]: 'kept' });
    expect(input).toMatchObject({ host: 'value of host', queryRetry: true }); // not mutated
    expect(withoutDsqlOptions(undefined)).toEqual({});
  });

  it('lists the shared options users pass (a sample checked by name) and detectNestedTransactions', () => {
    const sample: (keyof DsqlConnectionOptions)[] = ['host', 'hostaddr', 'credentials', 'ssl', 'retry', 'maxLifetimeSeconds', 'connectRateLimit', 'endpoints', 'logger', 'transport'];
    for (const key of sample) expect(DSQL_OPTION_KEYS).toContain(key);
    expect(DSQL_OPTION_KEYS).toContain('detectNestedTransactions');
    expect(new Set(DSQL_OPTION_KEYS).size).toBe(DSQL_OPTION_KEYS.length);
    expect(Object.isFrozen(DSQL_OPTION_KEYS)).toBe(true);
  });
});
