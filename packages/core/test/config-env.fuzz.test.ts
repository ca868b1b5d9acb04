/**
 * Fuzzing precedence: every combination of explicit options, connection-string parts and
 * environment variables (PGHOST, PGHOSTADDR, PGPORT, PGUSER, PGDATABASE, AWS_REGION,
 * AWS_DEFAULT_REGION, AWS_PROFILE) resolves each field from the highest layer that sets it —
 * explicit > connection string > environment > default — and never mutates its inputs.
 */
import fc from 'fast-check';
import { resolveConfig } from '../src/index.js';

const CLUSTER = 'abcdefghijklmnopqrstuvwxyz';
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;

/** Distinct values per layer, so a resolved value tells which layer it came from. */
const layerValue = {
  host: (layer: string) => `${layer}.example.com`,
  hostaddr: (layer: string) => ({ explicit: '10.0.0.1', url: '10.0.0.2', env: '10.0.0.3' })[layer]!,
  port: (layer: string) => ({ explicit: 6001, url: 6002, env: 6003 })[layer]!,
  user: (layer: string) => `${layer}_role`,
  database: (layer: string) => `${layer}_db`,
  profile: (layer: string) => `${layer}-profile`,
};
type Field = keyof typeof layerValue;
const FIELDS = Object.keys(layerValue) as Field[];

describe('config precedence fuzzing', () => {
  it('takes every field from the highest layer that sets it', () => {
    const presence = fc.record(Object.fromEntries(FIELDS.map((f) => [f, fc.record({ explicit: fc.boolean(), url: fc.boolean(), env: fc.boolean() })])) as Record<Field, fc.Arbitrary<{ explicit: boolean; url: boolean; env: boolean }>>);
    const regions = fc.record({
      explicit: fc.option(fc.constantFrom(...REGIONS), { nil: undefined }),
      url: fc.option(fc.constantFrom(...REGIONS), { nil: undefined }),
      AWS_REGION: fc.option(fc.constantFrom(...REGIONS), { nil: undefined }),
      AWS_DEFAULT_REGION: fc.option(fc.constantFrom(...REGIONS), { nil: undefined }),
    });
    fc.assert(
      fc.property(presence, regions, fc.boolean(), fc.boolean(), (present, region, asFirstArgument, clusterHost) => {
        const explicit: Record<string, unknown> = {};
        const params = new URLSearchParams();
        const env: Record<string, string> = {};
        let urlHost = 'placeholder.example.com';
        let urlUser = '';
        let urlPort = '';
        let urlDb = '';
        for (const f of FIELDS) {
          if (present[f].explicit) explicit[f] = layerValue[f]('explicit');
          if (present[f].url) {
            const v = String(layerValue[f]('url'));
            if (f === 'host') urlHost = v;
            else if (f === 'user') urlUser = v;
            else if (f === 'port') urlPort = v;
            else if (f === 'database') urlDb = v;
            else params.set(f, v);
          }
          if (present[f].env) env[{ host: 'PGHOST', hostaddr: 'PGHOSTADDR', port: 'PGPORT', user: 'PGUSER', database: 'PGDATABASE', profile: 'AWS_PROFILE' }[f]] = String(layerValue[f]('env'));
        }
        // A host is needed somewhere; a cluster endpoint in the explicit layer carries its region.
        if (clusterHost) explicit.host = `${CLUSTER}.dsql.us-west-2.on.aws`;
        const anyHost = explicit.host !== undefined || present.host.url || present.host.env;
        // A cluster endpoint names its Region; another explicit one is refused by design.
        if (region.explicit && !clusterHost) explicit.region = region.explicit;
        if (region.url && !clusterHost) params.set('region', region.url);
        if (region.AWS_REGION) env.AWS_REGION = region.AWS_REGION;
        if (region.AWS_DEFAULT_REGION) env.AWS_DEFAULT_REGION = region.AWS_DEFAULT_REGION;

        const hasUrl = present.host.url || present.user.url || present.port.url || present.database.url || [...params.keys()].length > 0;
        // Without a host in the URL, user-info and port have nowhere to go: they become the
        // equivalent parameters (user, port, dbname), which must resolve the same way.
        if (!present.host.url) {
          if (urlUser) params.set('user', urlUser);
          if (urlPort) params.set('port', urlPort);
          if (urlDb) params.set('dbname', urlDb);
          urlUser = urlPort = urlDb = '';
        }
        const url = `postgres://${urlUser ? `${urlUser}@` : ''}${present.host.url ? urlHost : ''}${urlPort ? `:${urlPort}` : ''}/${urlDb}${[...params.keys()].length ? `?${params}` : ''}`;
        const input = hasUrl && !asFirstArgument ? { ...explicit, connectionString: url } : explicit;
        const frozenInput = structuredClone(input);
        const frozenEnv = { ...env };

        const regionWanted = clusterHost ? 'us-west-2' : (region.explicit ?? region.url ?? region.AWS_REGION ?? region.AWS_DEFAULT_REGION);
        if (!anyHost || regionWanted === undefined) {
          expect(() => (hasUrl && asFirstArgument ? resolveConfig(url, explicit, env) : resolveConfig(input, undefined, env))).toThrow(/host|region/i);
          return;
        }
        const config = hasUrl && asFirstArgument ? resolveConfig(url, explicit, env) : resolveConfig(input, undefined, env);

        const top = (f: Field, fallback: unknown) =>
          f === 'host' && clusterHost ? explicit.host : present[f].explicit ? layerValue[f]('explicit') : present[f].url ? layerValue[f]('url') : present[f].env ? layerValue[f]('env') : fallback;
        expect(config.host).toBe(top('host', undefined));
        expect(config.hostaddr).toBe(top('hostaddr', undefined));
        expect(config.port).toBe(top('port', 5432));
        expect(config.user).toBe(top('user', 'admin'));
        expect(config.database).toBe(top('database', 'postgres'));
        expect(config.profile).toBe(top('profile', undefined));
        expect(config.region).toBe(regionWanted);
        expect(config.dialHost).toBe(config.hostaddr ?? config.host);
        expect(input).toEqual(frozenInput);
        expect(env).toEqual(frozenEnv);
      }),
      { numRuns: 600 },
    );
  });
});
