import { isDsqlError } from '@dsql/core';
import { parseDrizzleArguments } from '../src/arguments.js';

const schema = { users: {} };

describe("drizzle()'s call shapes", () => {
  it('a URL, with an optional config', () => {
    expect(parseDrizzleArguments(['postgres://admin@host/postgres'])).toEqual({ connection: 'postgres://admin@host/postgres', config: {} });
    expect(parseDrizzleArguments(['dsql://h', { schema, retry: true }])).toEqual({ connection: 'dsql://h', config: { schema }, retry: true });
  });

  it('a client (object or function), with an optional config', () => {
    class Pool {}
    const pool = new Pool();
    const sql = Object.assign(() => undefined, { options: {} });
    expect(parseDrizzleArguments([pool, { schema }])).toEqual({ client: pool, config: { schema } });
    expect(parseDrizzleArguments([sql])).toEqual({ client: sql, config: {} });
  });

  it('{ client, schema } and { connection, schema }; a retry inside the connection options configures db.transaction too', () => {
    class Pool {}
    const pool = new Pool();
    expect(parseDrizzleArguments([{ client: pool, schema, logger: true }])).toEqual({ client: pool, config: { schema, logger: true } });
    expect(parseDrizzleArguments([{ connection: { host: 'h', retry: { maxAttempts: 3 } }, schema }])).toEqual({
      connection: { host: 'h', retry: { maxAttempts: 3 } },
      config: { schema },
      retry: { maxAttempts: 3 },
    });
    expect(parseDrizzleArguments([{ connection: 'postgres://h', casing: 'snake_case' }])).toEqual({ connection: 'postgres://h', config: { casing: 'snake_case' } });
  });

  it('the shared options given directly, with Drizzle\'s keys taken out', () => {
    expect(parseDrizzleArguments([{ host: 'h', region: 'us-east-1', max: 4, schema, retry: false }])).toEqual({
      connection: { host: 'h', region: 'us-east-1', max: 4, retry: false },
      config: { schema },
      retry: false,
    });
    expect(parseDrizzleArguments([])).toEqual({ connection: {}, config: {} });
  });

  it('detectNestedTransactions: a Drizzle-level key, also read from (and left in) the connection options', () => {
    expect(parseDrizzleArguments(['dsql://h', { detectNestedTransactions: false }])).toEqual({ connection: 'dsql://h', config: {}, detectNestedTransactions: false });
    expect(parseDrizzleArguments([{ connection: { host: 'h', detectNestedTransactions: false } }])).toEqual({
      connection: { host: 'h', detectNestedTransactions: false },
      config: {},
      detectNestedTransactions: false,
    });
    expect(parseDrizzleArguments([{ host: 'h', detectNestedTransactions: false, schema }])).toEqual({
      connection: { host: 'h', detectNestedTransactions: false },
      config: { schema },
      detectNestedTransactions: false,
    });
    expect(() => parseDrizzleArguments([{ connection: { host: 'h' }, detectNestedTransactions: 'no' }])).toThrow(/detectNestedTransactions.*true or false/s);
  });

  it('refuses what it cannot read, naming the field', () => {
    const cases: unknown[][] = [[42], [{ connection: 'x', host: 'h' }], [{ connection: 5 }], ['url', 'not a config'], [{ host: 'h' }, { schema }]];
    for (const args of cases) {
      let error: unknown;
      try {
        parseDrizzleArguments(args);
      } catch (e) {
        error = e;
      }
      expect(isDsqlError(error, 'invalid-config')).toBe(true);
    }
    expect(() => parseDrizzleArguments([{ connection: 'x', host: 'h' }])).toThrow(/unknown key\(s\) host beside connection/);
  });
});
