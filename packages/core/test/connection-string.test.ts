import { isDsqlError } from '../src/index.js';
import { parseConnectionString } from '../src/config/connection-string.js';
import { HOST } from './helpers.js';

describe('parseConnectionString', () => {
  it('parses postgres://, postgresql:// and dsql:// with every supported parameter', () => {
    for (const scheme of ['postgres', 'postgresql', 'dsql']) {
      expect(
        parseConnectionString(
          `${scheme}://app%40x@${HOST}:5433/my%20db?region=us-east-1&profile=dev&tokenDurationSecs=3600&hostaddr=10.0.0.5&sslmode=verify-ca&application_name=svc&options=-c%20search_path%3Dapp`,
        ),
      ).toEqual({
        user: 'app@x',
        host: HOST,
        port: 5433,
        database: 'my db',
        region: 'us-east-1',
        profile: 'dev',
        tokenDurationSecs: 3600,
        hostaddr: '10.0.0.5',
        sslmode: 'verify-ca',
        applicationName: 'svc',
        options: '-c search_path=app',
      });
    }
  });

  it('accepts a URL without host (host from another layer) and libpq-style host/port/user/dbname parameters', () => {
    expect(parseConnectionString('postgres:///db')).toEqual({ database: 'db' });
    expect(parseConnectionString('postgres://?host=localhost&port=5432&user=u&dbname=d')).toEqual({ host: 'localhost', port: 5432, user: 'u', database: 'd' });
    expect(parseConnectionString('dsql://[::1]:6000')).toEqual({ host: '[::1]', port: 6000 });
  });

  it('rejects a password without echoing it', () => {
    for (const url of [`postgres://admin:hunter2secret@${HOST}/postgres`, `postgres://admin@${HOST}/postgres?password=hunter2secret`]) {
      let err: unknown;
      try {
        parseConnectionString(url);
      } catch (e) {
        err = e;
      }
      expect(isDsqlError(err, 'invalid-config')).toBe(true);
      expect((err as Error).message).toMatch(/password/);
      expect((err as Error).message).not.toContain('hunter2secret');
      // redact() (applied to every DsqlError message) leaves the explanation readable.
      expect((err as Error).message).toContain('Aurora DSQL authenticates with IAM tokens generated from your AWS credentials');
      expect((err as Error).message).not.toMatch(/\[redacted\] DSQL/);
    }
  });

  it.each([
    ['', /connectionString/],
    ['not a url', /connectionString/],
    ['mysql://localhost/db', /scheme "mysql"/],
    ['postgres://h1,h2/db', /single host/],
    ['postgres://localhost/a/b', /single database/],
    ['postgres://localhost/db#frag', /fragment/],
    ['postgres://localhost/db?sslcert=x', /parameter "sslcert"/],
    ['postgres://localhost/db?tokenDurationSecs=abc', /tokenDurationSecs.*whole number/],
    ['postgres://localhost/%E0%A4%A', /percent-encoding/],
  ])('rejects %j', (url, pattern) => {
    expect(() => parseConnectionString(url)).toThrow(pattern);
  });
});
