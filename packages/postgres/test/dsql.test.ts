import { inspect } from 'node:util';
import { createDsqlSession, isDsqlError } from '@dsql/core';
import { dsql, dsqlStats } from '@dsql/postgres';

// A static identity: signing a token is local CPU work, no AWS call is made.
const credentials = { accessKeyId: 'AKIAEXAMPLEUNITTEST1', secretAccessKey: 'unit-test-secret-access-key-do-not-leak' };
const base = { host: '127.0.0.1', region: 'us-east-1', sslmode: 'disable' as const, credentials, fetch_types: false };

describe('dsql() options', () => {
  it('hands Postgres.js a token function, no TLS of its own, and DSQL defaults', async () => {
    const sql = dsql({ ...base, max: 3, connection: { search_path: 'app' } });
    try {
      expect(sql.options.host).toEqual(['127.0.0.1']);
      expect(sql.options.user).toBe('admin');
      expect(sql.options.database).toBe('postgres');
      expect(sql.options.max).toBe(3);
      expect(sql.options.ssl).toBe(false);
      expect(typeof sql.options.pass).toBe('function');
      expect(sql.options.idle_timeout).toBe(600);
      expect(sql.options.connection).toMatchObject({ application_name: expect.stringMatching(/dsql/), search_path: 'app' });
      // Shared DSQL options never become startup parameters.
      expect(Object.keys(sql.options.connection)).not.toContain('region');
      const text = inspect(sql.options, { depth: 5 }) + inspect(sql, { depth: 3 });
      expect(text).not.toContain(credentials.secretAccessKey);
    } finally {
      await sql.end();
    }
  });

  it('takes a URL (with DSQL query parameters) without passing it to Postgres.js', async () => {
    const sql = dsql('dsql://app@127.0.0.1:5433/appdb?region=eu-west-1&sslmode=disable&tokenDurationSecs=600', {
      credentials,
      fetch_types: false,
    });
    try {
      expect(sql.options.port).toEqual([5433]);
      expect(sql.options.user).toBe('app');
      expect(sql.options.database).toBe('appdb');
      // Unknown URL parameters would become startup parameters in Postgres.js; none leak.
      expect(Object.keys(sql.options.connection).sort()).toEqual(['application_name']);
      expect(dsqlStats(sql)!.tokens.signings).toBe(0); // nothing signed before a connection opens
    } finally {
      await sql.end();
    }
  });

  it('draws each connection lifetime from the maxLifetimeSeconds window', async () => {
    const sql = dsql({ ...base, maxLifetimeSeconds: [100, 200] });
    try {
      const draw = sql.options.max_lifetime as unknown as () => number;
      const draws = Array.from({ length: 200 }, () => draw());
      expect(Math.min(...draws)).toBeGreaterThanOrEqual(100);
      expect(Math.max(...draws)).toBeLessThanOrEqual(200);
      expect(new Set(draws).size).toBeGreaterThan(150);
    } finally {
      await sql.end();
    }
  });

  it('refuses a password, naming the field and never echoing the value', () => {
    let err: unknown;
    try {
      dsql({ ...base, password: 'hunter2-secret' } as never);
    } catch (e) {
      err = e;
    }
    expect(isDsqlError(err, 'invalid-config')).toBe(true);
    expect((err as { field: string }).field).toBe('password');
    expect((err as Error).message).toMatch(/IAM/);
    // What is accepted reaches the reader whole: redact() takes no part of it for a password.
    expect((err as Error).message).toContain(
      'expected no password (Aurora DSQL authenticates with IAM tokens, which dsql() signs itself; choose the identity with the credentials or profile option).',
    );
    expect(inspect(err)).not.toContain('hunter2-secret');
  });

  it('validates shared options through core (field, value, what is accepted)', () => {
    expect(() => dsql({ ...base, maxLifetimeSeconds: 7200 })).toThrow(/maxLifetimeSeconds.*7200.*60 minutes/);
  });

  it('returns no stats for an sql it did not create', () => {
    expect(dsqlStats({})).toBeUndefined();
  });

  it("shares the cluster's connection rate limiter with every adapter and endpoint form (core's session limiter)", async () => {
    const sql = dsql({ host: 'zyxwvutsrqponmlkjihgfedcba.dsql.us-east-1.on.aws', credentials, fetch_types: false });
    try {
      // What another adapter of the same cluster gets, reaching it by its bare cluster id.
      const other = createDsqlSession({ host: 'zyxwvutsrqponmlkjihgfedcba', region: 'us-east-1', credentials }).limiter!;
      const before = dsqlStats(sql)!.rateLimiter!.immediate;
      await other.acquire();
      expect(dsqlStats(sql)!.rateLimiter!.immediate).toBe(before + 1);
    } finally {
      await sql.end();
    }
  });
});
