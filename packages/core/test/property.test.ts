import fc from 'fast-check';
import { inspect } from 'node:util';
import { parseEndpoint, resolveConfig, isDsqlError, redact } from '../src/index.js';

const SECRET = 'Zq9SecretValue0Zq9';

/** Strings that look like hosts, URLs and garbage, sometimes carrying a secret. */
const hostish = fc.oneof(
  fc.string(),
  fc.stringMatching(/^[a-z0-9.-]{0,40}$/),
  fc.constantFrom('localhost', '127.0.0.1', '::1', 'abcdefghijklmnopqrstuvwxyz', 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', 'http://x', 'a:1', ' '),
  fc.tuple(fc.constantFrom('postgres://', 'dsql://', 'postgresql://', 'mysql://', ''), fc.string(), fc.constantFrom(`:${SECRET}@`, '@', ''), fc.string()).map((p) => p.join('')),
);

function assertSafe(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    // Only DsqlErrors, and none of them echoes the secret (message, hint, or inspection).
    expect(isDsqlError(err)).toBe(true);
    const shown = `${(err as Error).message} ${(err as { hint?: string }).hint ?? ''} ${inspect(err)}`;
    expect(shown).not.toContain(SECRET);
  }
}

describe('properties', () => {
  it('parseEndpoint never throws anything but DsqlError', () => {
    fc.assert(
      fc.property(hostish, fc.option(fc.oneof(fc.string(), fc.constantFrom('us-east-1', 'eu-west-1')), { nil: undefined }), (host, region) => {
        assertSafe(() => parseEndpoint(host, { region, env: {} }));
      }),
      { numRuns: 500 },
    );
  });

  it('resolveConfig never throws anything but DsqlError and never echoes a secret', () => {
    const options = fc.record(
      {
        host: hostish,
        region: fc.oneof(fc.string(), fc.constant('us-east-1')),
        port: fc.oneof(fc.integer(), fc.string(), fc.double()),
        user: fc.oneof(fc.string(), fc.constant(SECRET)),
        tokenDurationSecs: fc.oneof(fc.integer(), fc.double()),
        maxLifetimeSeconds: fc.oneof(fc.integer(), fc.tuple(fc.double(), fc.double())),
        connectRateLimit: fc.oneof(fc.boolean(), fc.record({ perSecond: fc.double(), burst: fc.integer() })),
        sslmode: fc.oneof(fc.string(), fc.constantFrom('verify-full', 'disable', 'require')),
        connectionString: hostish,
        credentials: fc.oneof(fc.constant({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: SECRET }), fc.constant({ secretAccessKey: SECRET })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(options, fc.dictionary(fc.constantFrom('PGHOST', 'PGPORT', 'AWS_REGION', 'PGUSER'), fc.string()), (opts, env) => {
        assertSafe(() => {
          const config = resolveConfig(opts as never, undefined, env);
          expect(inspect(config)).not.toContain(SECRET.length > 0 && opts.user !== SECRET ? SECRET : '\u0000');
          return config;
        });
      }),
      { numRuns: 500 },
    );
  });

  it('redact is idempotent and removes every embedded signature', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.stringMatching(/^[0-9a-f]{8,64}$/), (before, after, sig) => {
        const text = `${before} x.dsql.us-east-1.on.aws/?Action=DbConnect&X-Amz-Signature=${sig} ${after}`;
        const once = redact(text);
        expect(redact(once)).toBe(once);
        expect(once).not.toContain(`X-Amz-Signature=${sig}`);
      }),
      { numRuns: 300 },
    );
  });
});
