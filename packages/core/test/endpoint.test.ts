import { parseEndpoint, isDsqlError } from '../src/index.js';
import { CLUSTER, HOST } from './helpers.js';

describe('parseEndpoint', () => {
  it('parses a public endpoint, upper case and trailing dot included', () => {
    expect(parseEndpoint(HOST)).toEqual({ host: HOST, clusterId: CLUSTER, region: 'us-east-1', kind: 'public' });
    expect(parseEndpoint(`${HOST.toUpperCase()}.`, { env: {} })).toEqual({ host: HOST, clusterId: CLUSTER, region: 'us-east-1', kind: 'public' });
    expect(parseEndpoint(`${CLUSTER}.dsql.us-gov-west-1.on.aws`).region).toBe('us-gov-west-1');
  });

  it('parses a PrivateLink endpoint', () => {
    expect(parseEndpoint(`${CLUSTER}.dsql-fnh4.eu-west-2.on.aws`, { env: {} })).toEqual({
      host: `${CLUSTER}.dsql-fnh4.eu-west-2.on.aws`,
      clusterId: CLUSTER,
      region: 'eu-west-2',
      kind: 'privatelink',
    });
  });

  it('expands a bare cluster id with a region', () => {
    expect(parseEndpoint(CLUSTER, { region: 'ap-southeast-2', env: {} })).toEqual({
      host: `${CLUSTER}.dsql.ap-southeast-2.on.aws`,
      clusterId: CLUSTER,
      region: 'ap-southeast-2',
      kind: 'public',
    });
    expect(parseEndpoint(CLUSTER.toUpperCase(), { env: { AWS_REGION: 'us-west-2' } }).host).toBe(`${CLUSTER}.dsql.us-west-2.on.aws`);
  });

  it('accepts any hostname or IP address as custom when a region is known', () => {
    expect(parseEndpoint('localhost', { region: 'us-east-1' })).toEqual({ host: 'localhost', region: 'us-east-1', kind: 'custom' });
    expect(parseEndpoint('127.0.0.1', { env: { AWS_DEFAULT_REGION: 'eu-central-1' } })).toEqual({ host: '127.0.0.1', region: 'eu-central-1', kind: 'custom' });
    expect(parseEndpoint('[::1]', { region: 'us-east-1' }).host).toBe('::1');
    expect(parseEndpoint('DB.Example.COM.', { region: 'us-east-1' }).host).toBe('db.example.com');
    expect(parseEndpoint('vpce-0abc-d849.dsql-fnh4.us-east-1.vpce.amazonaws.com', { region: 'us-east-1' }).kind).toBe('custom');
  });

  it('takes the region from the argument, else the hostname, else AWS_REGION, else AWS_DEFAULT_REGION', () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-3' };
    expect(parseEndpoint('localhost', { region: 'us-east-2', env }).region).toBe('us-east-2');
    expect(parseEndpoint(HOST, { env }).region).toBe('us-east-1');
    expect(parseEndpoint('localhost', { env }).region).toBe('eu-west-1');
    expect(parseEndpoint('localhost', { env: { AWS_DEFAULT_REGION: 'eu-west-3' } }).region).toBe('eu-west-3');
    expect(parseEndpoint(HOST, { region: 'US-EAST-1' }).region).toBe('us-east-1');
  });

  it('says how to give a missing region', () => {
    const err = (() => {
      try {
        parseEndpoint('localhost', { env: {} });
      } catch (e) {
        return e;
      }
    })();
    expect(isDsqlError(err, 'invalid-config')).toBe(true);
    expect((err as Error).message).toMatch(/region.*AWS_REGION/s);
    expect(() => parseEndpoint(CLUSTER, { env: {} })).toThrow(/region/);
  });

  it('refuses a region that contradicts the endpoint', () => {
    expect(() => parseEndpoint(HOST, { region: 'us-west-2' })).toThrow(/endpoint's own Region "us-east-1"/);
  });

  it.each([
    ['', /Invalid host/],
    ['   ', /Invalid host/],
    ['my host', /spaces/],
    ['http://abc.dsql.us-east-1.on.aws', /URL/],
    ['postgres://admin@localhost/postgres', /URL/],
    ['localhost:5432', /port/],
    [`${HOST}:5432`, /port/],
    ['host/path', /Invalid host/],
    ['-bad-.example.com', /Invalid host/],
    ['a..b', /Invalid host/],
    ['x'.repeat(64) + '.com', /Invalid host/],
  ])('rejects %j with a DsqlError naming the field and the accepted forms', (input, pattern) => {
    let err: unknown;
    try {
      parseEndpoint(input, { region: 'us-east-1' });
    } catch (e) {
      err = e;
    }
    expect(isDsqlError(err, 'invalid-config')).toBe(true);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message).toContain('<cluster-id>.dsql.<region>.on.aws');
    expect((err as { field: string }).field).toBe('host');
  });

  it('rejects non-strings and bad regions', () => {
    expect(() => parseEndpoint(42 as never, { region: 'us-east-1' })).toThrow(/got 42/);
    expect(() => parseEndpoint('localhost', { region: 'useast1' })).toThrow(/Invalid region: got "useast1"/);
    expect(() => parseEndpoint('localhost', { env: { AWS_REGION: 'nope' } })).toThrow(/AWS_REGION/);
    expect(() => parseEndpoint(`${CLUSTER}.dsql.nowhere.on.aws`)).toThrow(/Invalid host/);
  });
});
