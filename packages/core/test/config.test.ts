import { inspect } from 'node:util';
import { resolveConfig, isDsqlError, applicationName, VERSION, type DsqlConnectionOptions } from '../src/index.js';
import { CLUSTER, CREDS, HOST, SESSION_CREDS } from './helpers.js';

const OTHER = 'zyxwvutsrqponmlkjihgfedcba';

function configError(fn: () => unknown): Error & { field: string } {
  try {
    fn();
  } catch (e) {
    expect(isDsqlError(e, 'invalid-config')).toBe(true);
    return e as Error & { field: string };
  }
  throw new Error('expected a DsqlConfigError');
}

describe('resolveConfig', () => {
  it('applies defaults', () => {
    const c = resolveConfig({ host: HOST }, undefined, {});
    expect(c).toMatchObject({
      host: HOST,
      hostaddr: undefined,
      dialHost: HOST,
      tokenHost: HOST,
      port: 5432,
      user: 'admin',
      database: 'postgres',
      region: 'us-east-1',
      kind: 'public',
      clusterId: CLUSTER,
      admin: true,
      tokenDurationSecs: 900,
      sslmode: 'verify-full',
      maxLifetimeSeconds: [2700, 3300],
      connectRateLimit: { perSecond: 100, burst: 1000, adaptive: false },
      retry: { maxAttempts: 20, baseDelayMs: 5, maxDelayMs: 1000, maxElapsedMs: 30_000 },
      applicationName: `dsql-node/${VERSION}`,
      options: undefined,
    });
    expect(c.credentials).toBeUndefined();
    expect(resolveConfig({ host: HOST, user: 'app' }, undefined, {}).admin).toBe(false);
  });

  // Precedence table: explicit option > connection string > environment > default.
  const env = {
    PGHOST: `${OTHER}.dsql.eu-west-1.on.aws`,
    PGHOSTADDR: '10.9.9.9',
    PGPORT: '7000',
    PGUSER: 'envuser',
    PGDATABASE: 'envdb',
    AWS_REGION: 'eu-west-1',
    AWS_PROFILE: 'envprofile',
  };
  const url = `postgres://urluser@localhost:6000/urldb?region=us-west-2&profile=urlprofile&hostaddr=10.1.1.1&tokenDurationSecs=1200`;
  const explicit: DsqlConnectionOptions = { host: '127.0.0.1', region: 'ap-south-1', port: 5000, user: 'expuser', database: 'expdb', hostaddr: '10.2.2.2', profile: 'expprofile', tokenDurationSecs: 60 };
  it.each([
    ['host', 'host', '127.0.0.1', 'localhost', `${OTHER}.dsql.eu-west-1.on.aws`, undefined],
    ['region', 'region', 'ap-south-1', 'us-west-2', 'eu-west-1', undefined],
    ['port', 'port', 5000, 6000, 7000, 5432],
    ['user', 'user', 'expuser', 'urluser', 'envuser', 'admin'],
    ['database', 'database', 'expdb', 'urldb', 'envdb', 'postgres'],
    ['hostaddr', 'hostaddr', '10.2.2.2', '10.1.1.1', '10.9.9.9', undefined],
    ['profile', 'profile', 'expprofile', 'urlprofile', 'envprofile', undefined],
    ['tokenDurationSecs', 'tokenDurationSecs', 60, 1200, undefined, 900],
  ] as const)('%s: explicit > connection string > environment > default', (_name, key, e, u, v, d) => {
    expect(resolveConfig({ ...explicit, connectionString: url }, undefined, env)[key]).toBe(e);
    const withoutExplicit = { ...explicit, [key]: undefined, connectionString: url };
    if (key === 'host') withoutExplicit.region = 'ap-south-1';
    expect(resolveConfig(withoutExplicit, undefined, env)[key]).toBe(u);
    if (v !== undefined) {
      const onlyEnv = resolveConfig(key === 'host' ? {} : { host: 'localhost' }, undefined, env);
      expect(onlyEnv[key]).toBe(v);
    }
    if (d !== undefined) expect(resolveConfig({ host: 'localhost', region: 'us-east-1' }, undefined, {})[key]).toBe(d);
  });

  it('lets overrides win over the input, and accepts the URL as first argument', () => {
    const c = resolveConfig(`postgres://a@${HOST}/db1`, { user: 'b', database: 'db2' }, {});
    expect([c.user, c.database, c.host]).toEqual(['b', 'db2', HOST]);
    expect(resolveConfig({ host: HOST, user: 'a' }, { user: 'c', host: undefined }, {}).user).toBe('c');
  });

  it('returns a frozen object and never mutates its inputs', () => {
    const input = Object.freeze({ host: HOST, retry: Object.freeze({ maxAttempts: 3 }), maxLifetimeSeconds: Object.freeze([100, 200]) as never });
    const overrides = { user: 'app' };
    const before = JSON.stringify([input, overrides]);
    const env = Object.freeze({ PGPORT: '5433' });
    const c = resolveConfig(input, overrides, env);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.retry)).toBe(true);
    expect(Object.isFrozen(c.maxLifetimeSeconds)).toBe(true);
    expect(JSON.stringify([input, overrides])).toBe(before);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('supports hostaddr: dial an address, keep the cluster hostname for TLS and token', () => {
    const c = resolveConfig({ host: HOST, hostaddr: '10.0.0.7' }, undefined, {});
    expect([c.dialHost, c.host, c.tokenHost, c.sslmode]).toEqual(['10.0.0.7', HOST, HOST, 'verify-full']);
    expect(configError(() => resolveConfig({ host: HOST, hostaddr: '10.0.0.7:5432' }, undefined, {})).field).toBe('hostaddr');
    expect(resolveConfig({ host: HOST, hostaddr: '[::1]' }, undefined, {}).dialHost).toBe('::1');
  });

  it('refuses a hostaddr that is not a numeric address, naming the field it came from', () => {
    const err = configError(() => resolveConfig({ host: HOST, hostaddr: 'not-an-ip' }, undefined, {}));
    expect(err.field).toBe('hostaddr');
    expect(err.message).toMatch(/got "not-an-ip"; expected a numeric IPv4 or IPv6 address/);
    expect(configError(() => resolveConfig(`postgres://admin@${HOST}/postgres?hostaddr=not-an-ip`, undefined, {})).field).toBe('connectionString hostaddr');
    expect(configError(() => resolveConfig({ host: HOST }, undefined, { PGHOSTADDR: 'localhost' })).field).toBe('PGHOSTADDR');
    expect(configError(() => resolveConfig({ host: HOST, hostaddr: '999.1.1.1' }, undefined, {})).field).toBe('hostaddr');
  });

  it('supports the PrivateLink amzn-cluster-id startup option', () => {
    const vpce = 'vpce-04037adb76c111221-d849uc2p.dsql-fnh4.us-east-1.vpce.amazonaws.com';
    const c = resolveConfig({ host: vpce, region: 'us-east-1', clusterId: CLUSTER, options: '-c search_path=app' }, undefined, {});
    expect(c).toMatchObject({ host: vpce, kind: 'custom', clusterId: CLUSTER, tokenHost: HOST, sslmode: 'verify-ca', options: `-c search_path=app -c amzn-cluster-id=${CLUSTER}` });
    const fromOptions = resolveConfig(`postgres://admin@${vpce}/postgres?region=us-east-1&options=-c%20amzn-cluster-id%3D${CLUSTER}`, undefined, {});
    expect(fromOptions).toMatchObject({ clusterId: CLUSTER, tokenHost: HOST, options: `-c amzn-cluster-id=${CLUSTER}` });
    expect(resolveConfig({ host: vpce, region: 'us-east-1', clusterId: CLUSTER, sslmode: 'verify-full' }, undefined, {}).sslmode).toBe('verify-full');
    // A cluster endpoint already names its cluster: a matching id is fine, another is an error.
    expect(resolveConfig({ host: HOST, clusterId: CLUSTER }, undefined, {}).options).toBeUndefined();
    expect(configError(() => resolveConfig({ host: HOST, clusterId: OTHER }, undefined, {})).field).toBe('clusterId');
    expect(configError(() => resolveConfig({ host: vpce, region: 'us-east-1', clusterId: 'short' }, undefined, {})).field).toBe('clusterId');
  });

  it('rejects sslmode=disable for a real DSQL endpoint, allows it for a custom host when asked', () => {
    const err = configError(() => resolveConfig({ host: HOST, sslmode: 'disable' }, undefined, {}));
    expect(err.message).toMatch(/only accepts TLS/);
    expect(configError(() => resolveConfig(`postgres://${HOST}/postgres?sslmode=disable`, undefined, {})).field).toBe('sslmode');
    expect(configError(() => resolveConfig({ host: HOST, ssl: false }, undefined, {})).field).toBe('sslmode');
    expect(resolveConfig({ host: 'localhost', region: 'us-east-1', sslmode: 'disable' }, undefined, {}).sslmode).toBe('disable');
    expect(resolveConfig({ host: 'localhost', region: 'us-east-1', ssl: false }, undefined, {}).sslmode).toBe('disable');
    expect(resolveConfig({ host: 'localhost', region: 'us-east-1' }, undefined, {}).sslmode).toBe('verify-full');
  });

  it("refuses sslmode=disable whenever the token is a real cluster's: a custom host naming its cluster (issue 15)", () => {
    const custom = { host: 'proxy.internal', region: 'us-east-1' };
    for (const named of [{ clusterId: CLUSTER }, { options: `-c amzn-cluster-id=${CLUSTER}` }]) {
      for (const tls of [{ sslmode: 'disable' as const }, { ssl: false as const }]) {
        const err = configError(() => resolveConfig({ ...custom, ...named, ...tls }, undefined, {}));
        expect(err.field).toBe('sslmode');
        expect(err.message).toContain(`signed for the real cluster (${HOST}) and must never travel in clear text`);
        expect(err.message).toMatch(/only for a local endpoint whose host is not a cluster's/);
      }
    }
    const url = `postgres://admin@proxy.internal/postgres?region=us-east-1&sslmode=disable&options=-c%20amzn-cluster-id%3D${CLUSTER}`;
    expect(configError(() => resolveConfig(url, undefined, {})).field).toBe('sslmode');
    // Without a cluster id the token names the custom host, which no cluster accepts: allowed when asked for.
    expect(resolveConfig({ ...custom, sslmode: 'disable' }, undefined, {}).sslmode).toBe('disable');
  });

  it('maps ssl values to sslmode and keeps user TLS options', () => {
    expect(resolveConfig({ host: HOST, ssl: true }, undefined, {}).sslmode).toBe('verify-full');
    expect(resolveConfig({ host: HOST, ssl: 'require' }, undefined, {}).sslmode).toBe('require');
    const c = resolveConfig({ host: HOST, ssl: { ca: 'PEM' } }, undefined, {});
    expect([c.sslmode, c.ssl]).toEqual(['verify-full', { ca: 'PEM' }]);
    expect(resolveConfig({ host: HOST, ssl: { rejectUnauthorized: false } }, undefined, {}).sslmode).toBe('require');
    expect(resolveConfig({ host: HOST, ssl: { rejectUnauthorized: false }, sslmode: 'verify-ca' }, undefined, {}).sslmode).toBe('verify-ca');
    expect(configError(() => resolveConfig({ host: HOST, ssl: 'prefer' as never }, undefined, {})).message).toMatch(/always requires TLS/);
    expect(configError(() => resolveConfig({ host: HOST, ssl: 5 as never }, undefined, {})).field).toBe('ssl');
  });

  it('validates every shared option, naming the field, the value and what is accepted', () => {
    const cases: [DsqlConnectionOptions, string, RegExp][] = [
      [{ port: 0 }, 'port', /got 0; expected an integer from 1 to 65535/],
      [{ port: 'abc' }, 'port', /"abc"/],
      [{ tokenDurationSecs: 604_801 }, 'tokenDurationSecs', /604801.*1 to 604800/],
      [{ tokenDurationSecs: 1.5 }, 'tokenDurationSecs', /1.5/],
      [{ maxLifetimeSeconds: [3300, 2700] }, 'maxLifetimeSeconds', /\[3300, 2700\].*min <= max/],
      [{ maxLifetimeSeconds: 7200 }, 'maxLifetimeSeconds', /60 minutes/],
      [{ maxLifetimeSeconds: 'long' as never }, 'maxLifetimeSeconds', /"long"/],
      [{ connectRateLimit: { perSecond: 0 } }, 'connectRateLimit.perSecond', /greater than 0/],
      [{ connectRateLimit: { burst: 0.5 } }, 'connectRateLimit.burst', /integer/],
      [{ connectRateLimit: 'fast' as never }, 'connectRateLimit', /perSecond/],
      [{ retry: { maxAttempts: 0 } }, 'retry.maxAttempts', /from 1/],
      [{ retry: { baseDelayMs: -1 } }, 'retry.baseDelayMs', /-1/],
      [{ retry: { onRetry: 'log' as never } }, 'retry.onRetry', /a function/],
      [{ retry: 3 as never }, 'retry', /retry options/],
      [{ credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE' } as never }, 'credentials', /accessKeyId\/secretAccessKey/],
      [{ credentials: 'secret' as never }, 'credentials', /provider function/],
      [{ credentials: { ...CREDS, sessionToken: 5 } as never }, 'credentials.sessionToken', /string/],
      [{ credentials: { ...CREDS, expiration: 'soon' } as never }, 'credentials.expiration', /Date/],
      [{ profile: 'has space' }, 'profile', /profile name/],
      [{ user: '' }, 'user', /database role/],
      [{ user: 'x'.repeat(64) }, 'user', /63 bytes/],
      [{ database: 7 as never }, 'database', /database name/],
      [{ admin: 'yes' as never }, 'admin', /true or false/],
      [{ sslmode: 'allow' as never }, 'sslmode', /verify-full/],
      [{ applicationName: 'x'.repeat(64) }, 'applicationName', /63 bytes/],
      [{ applicationNamePrefix: 5 as never }, 'applicationNamePrefix', /string/],
      [{ options: 5 as never }, 'options', /startup options/],
      [{ region: 5 as never }, 'region', /Region/],
    ];
    for (const [opts, field, pattern] of cases) {
      const err = configError(() => resolveConfig({ host: HOST, ...opts }, undefined, {}));
      expect([field, err.message]).toEqual([err.field, expect.stringMatching(pattern)]);
    }
    expect(configError(() => resolveConfig({}, undefined, {})).message).toMatch(/PGHOST/);
    expect(configError(() => resolveConfig({ host: 5 as never }, undefined, {})).field).toBe('host');
    expect(configError(() => resolveConfig({ connectionString: 5 as never }, undefined, {})).field).toBe('connectionString');
    expect(configError(() => resolveConfig(7 as never, undefined, {})).field).toBe('options');
    expect(configError(() => resolveConfig({}, undefined, { PGHOST: 'bad host' })).field).toBe('PGHOST');
    expect(configError(() => resolveConfig('postgres://bad_host-/db', undefined, { AWS_REGION: 'us-east-1' })).field).toBe('connectionString host');
    expect(configError(() => resolveConfig({ host: HOST }, undefined, { PGPORT: 'x' })).field).toBe('PGPORT');
    // A malformed environment variable is harmless when an explicit option replaces it.
    expect(resolveConfig({ host: HOST, port: 6543 }, undefined, { PGPORT: 'x', AWS_REGION: 'bad' }).port).toBe(6543);
  });

  it('accepts retry/connectRateLimit switches and a lifetime number', () => {
    const c = resolveConfig({ host: HOST, retry: false, connectRateLimit: false, maxLifetimeSeconds: 1800 }, undefined, {});
    expect([c.retry, c.connectRateLimit, c.maxLifetimeSeconds]).toEqual([false, false, [1800, 1800]]);
    const d = resolveConfig({ host: HOST, retry: { maxAttempts: 3 }, connectRateLimit: { perSecond: 5 } }, undefined, {});
    expect(d.retry && d.retry.maxAttempts).toBe(3);
    expect(d.connectRateLimit).toEqual({ perSecond: 5, burst: 1000, adaptive: false });
  });

  it('builds application_name from a prefix, at most 63 bytes', () => {
    expect(resolveConfig({ host: HOST, applicationNamePrefix: 'drizzle' }, undefined, {}).applicationName).toBe(`drizzle+dsql-node/${VERSION}`);
    expect(resolveConfig(`postgres://${HOST}/postgres?application_name=svc`, undefined, {}).applicationName).toBe('svc');
    expect(Buffer.byteLength(applicationName('p'.repeat(100)))).toBe(63);
    expect(applicationName('  ')).toBe(`dsql-node/${VERSION}`);
  });

  it('never reveals credentials through util.inspect, JSON or spreading', () => {
    const c = resolveConfig({ host: HOST, credentials: SESSION_CREDS, ssl: { ca: 'PEM', key: 'PRIVATE KEY' } as never }, undefined, {});
    expect(c.credentials).toBe(SESSION_CREDS);
    const shown = [inspect(c), inspect(c, { depth: 10 }), JSON.stringify(c), JSON.stringify({ ...c })].join(' ');
    for (const s of [SESSION_CREDS.secretAccessKey, SESSION_CREDS.sessionToken!, 'PRIVATE KEY']) expect(shown).not.toContain(s);
    expect(shown).toContain('[redacted identity]');
    expect(inspect(resolveConfig({ host: HOST, credentials: async () => CREDS }, undefined, {}))).toContain('[provider function]');
  });
});
