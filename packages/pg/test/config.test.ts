import { inspect } from 'node:util';
import pg from 'pg';
import { isDsqlError } from '@dsql/core';
import { DsqlClient, DsqlPool } from '../src/index.js';

const HOST = 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws';
const credentials = { accessKeyId: 'AKIAEXAMPLEEXAMPLE12', secretAccessKey: 'secret-secret' };
const pools: DsqlPool[] = [];
function pool(...args: ConstructorParameters<typeof DsqlPool>): DsqlPool {
  const p = new DsqlPool(...args);
  pools.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});

type Options = pg.PoolConfig & { ssl: { servername?: string; rejectUnauthorized?: boolean; ca?: string }; stream?: unknown };
const optionsOf = (p: DsqlPool): Options => p.options as unknown as Options;

describe('DsqlPool options', () => {
  it('is a pg.Pool whose clients are DsqlClients', async () => {
    const p = pool({ host: HOST, credentials });
    expect(p).toBeInstanceOf(pg.Pool);
    expect(optionsOf(p).Client).toBe(DsqlClient);
  });

  it('fills DSQL defaults: admin@postgres:5432, verify-full TLS with SNI, token password, 10 min idle timeout', () => {
    const o = optionsOf(pool({ host: HOST, credentials }));
    expect(o).toMatchObject({ host: HOST, port: 5432, user: 'admin', database: 'postgres', idleTimeoutMillis: 600_000 });
    expect(o.ssl).toMatchObject({ servername: HOST, rejectUnauthorized: true });
    expect(typeof o.password).toBe('function');
    expect(o.application_name).toMatch(/^dsql-node\//);
  });

  it('passes every pg option through and keeps DSQL-only options away from pg', () => {
    const o = optionsOf(
      pool({ host: HOST, region: 'us-east-1', credentials, max: 3, statement_timeout: 1000, idleTimeoutMillis: 5, application_name: 'app', keepAlive: true, detectNestedTransactions: false }),
    ) as Options & Record<string, unknown>;
    expect(o).toMatchObject({ max: 3, statement_timeout: 1000, idleTimeoutMillis: 5, application_name: 'app', keepAlive: true });
    for (const key of ['region', 'credentials', 'connectionString', 'retry', 'connectRateLimit', 'hostaddr', 'tokenDurationSecs', 'detectNestedTransactions']) {
      expect(o[key]).toBeUndefined();
    }
  });

  it('keeps idle connections when idleTimeoutMillis is 0 or null, as pg does', () => {
    expect(optionsOf(pool({ host: HOST, credentials, idleTimeoutMillis: 0 })).idleTimeoutMillis).toBe(0);
    expect(optionsOf(pool({ host: HOST, credentials, idleTimeoutMillis: null })).idleTimeoutMillis).toBe(0);
    expect(() => pool({ host: HOST, credentials, idleTimeoutMillis: -1 })).toThrow(/idleTimeoutMillis/);
  });

  it('accepts a connection string as first argument, with options on top', () => {
    const o = optionsOf(pool(`postgres://app@${HOST}:5433/postgres?hostaddr=127.0.0.1&tokenDurationSecs=3600`, { credentials, max: 2 }));
    expect(o).toMatchObject({ host: HOST, port: 5433, user: 'app', max: 2 });
    expect(typeof o.stream).toBe('function'); // dials hostaddr, keeps host for SNI and the certificate
    expect(o.ssl.servername).toBe(HOST);
  });

  it('honours ssl.ca and a bare cluster id with a region', () => {
    const o = optionsOf(pool({ host: 'abcdefghijklmnopqrstuvwxyz', region: 'eu-west-1', credentials, ssl: { ca: 'PEM' } }));
    expect(o.host).toBe('abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws');
    expect(o.ssl).toMatchObject({ ca: 'PEM', rejectUnauthorized: true, servername: 'abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws' });
  });

  it('draws a jittered max lifetime per connection inside the window (default 2700–3300 s)', () => {
    const o = optionsOf(pool({ host: HOST, credentials }));
    const draws = Array.from({ length: 50 }, () => o.maxLifetimeSeconds!);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(2700);
    expect(Math.max(...draws)).toBeLessThanOrEqual(3300);
    expect(new Set(draws).size).toBeGreaterThan(40);
  });

  it('rejects bad input naming the field, the (redacted) value and what is accepted', () => {
    let err: unknown;
    try {
      pool({ host: HOST, credentials, maxLifetimeSeconds: 7200 });
    } catch (e) {
      err = e;
    }
    expect(isDsqlError(err, 'invalid-config')).toBe(true);
    expect((err as Error).message).toMatch(/maxLifetimeSeconds.*7200.*60 minutes/);
    expect(() => pool({ host: HOST, credentials, port: 70000 })).toThrow(/Invalid port: got 70000; expected an integer from 1 to 65535/);
    const notBoolean = { detectNestedTransactions: 'no' } as unknown as { detectNestedTransactions: boolean };
    expect(() => pool({ host: HOST, credentials, ...notBoolean })).toThrow(
      'Invalid detectNestedTransactions: got "no"; expected true or false.',
    );
    expect(() => new DsqlClient({ host: HOST, credentials, ...notBoolean })).toThrow(/Invalid detectNestedTransactions/);
  });

  it('keeps credentials and passwords out of util.inspect', () => {
    const p = pool({ host: HOST, credentials });
    const text = inspect(p, { depth: 6 });
    expect(text).not.toContain('secret-secret');
    expect(text).not.toContain('AKIAEXAMPLEEXAMPLE12');
  });

  it('leaves pool.query untouched unless queryRetry is asked for', () => {
    expect(pool({ host: HOST, credentials }).query).toBe(pg.Pool.prototype.query);
    expect(pool({ host: HOST, credentials, queryRetry: true }).query).not.toBe(pg.Pool.prototype.query);
  });
});

describe('types', () => {
  it("keeps pg's typed query overloads on DsqlClient and DsqlPool", async () => {
    // Compile-time check: generic row types must be accepted (this file is typechecked).
    type Row = { one: number };
    const typed = (c: DsqlClient, p: DsqlPool): [Promise<pg.QueryResult<Row>>, Promise<pg.QueryResult<Row>>] => [
      c.query<Row>('SELECT 1 AS one'),
      p.query<Row>('SELECT 1 AS one'),
    ];
    expect(typeof typed).toBe('function');
    expect(DsqlClient.prototype.query).not.toBe(pg.Client.prototype.query);
  });
});
