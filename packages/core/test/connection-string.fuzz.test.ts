/**
 * Fuzzing connection strings: random query parameters (any order, duplicated, unknown), any
 * Unicode in user, database and parameter values (percent-encoded as a URL carries them),
 * malformed encodings and passwords hidden anywhere. Properties: what a URL carries comes back
 * exactly; anything else is a DsqlConfigError that names the field and never echoes a secret.
 */
import fc from 'fast-check';
import { inspect } from 'node:util';
import { DsqlConfigError, isDsqlError } from '../src/index.js';
import { parseConnectionString } from '../src/config/connection-string.js';

const SECRET = 'Qx7PasswordNeverShown7xQ';
const KNOWN = ['region', 'profile', 'tokenDurationSecs', 'hostaddr', 'sslmode', 'application_name', 'options', 'host', 'port', 'user', 'dbname'] as const;
const OPTION: Record<(typeof KNOWN)[number], string> = {
  region: 'region',
  profile: 'profile',
  tokenDurationSecs: 'tokenDurationSecs',
  hostaddr: 'hostaddr',
  sslmode: 'sslmode',
  application_name: 'applicationName',
  options: 'options',
  host: 'host',
  port: 'port',
  user: 'user',
  dbname: 'database',
};

/** Any text, including characters a URL must escape (&, =, #, %, /, space, +, Unicode). */
const text = fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), fc.constantFrom('a&b=c', '100%', 'x#y', 'a/b', 'a b', 'a+b', 'é☃𝄞', '?', '@', ':'));
const hostname = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}(\.[a-z][a-z0-9-]{0,12}){0,3}$/);
const wholeNumber = fc.integer({ min: 0, max: 2 ** 31 }).map(String);

/** A dot segment would be removed by the WHATWG URL parser before we see it. */
const notDotSegment = (s: string) => s !== '.' && s !== '..';

function expectConfigError(fn: () => unknown, field: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(DsqlConfigError);
  expect((thrown as DsqlConfigError).field).toMatch(field);
  const shown = `${(thrown as Error).message} ${(thrown as Error).stack} ${inspect(thrown)}`;
  expect(shown).not.toContain(SECRET);
}

describe('connection string fuzzing', () => {
  it('gives back exactly what the URL carries: user, database, host, port and every parameter, in any order, any encoding', () => {
    const params = fc.array(
      fc.oneof(
        fc.tuple(fc.constantFrom(...KNOWN.filter((k) => k !== 'port' && k !== 'tokenDurationSecs')), text),
        fc.tuple(fc.constantFrom('port' as const, 'tokenDurationSecs' as const), wholeNumber),
      ),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(
        fc.constantFrom('postgres', 'postgresql', 'dsql'),
        fc.option(text, { nil: undefined }),
        hostname,
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.option(text.filter(notDotSegment), { nil: undefined }),
        params,
        (scheme, user, host, port, database, pairs) => {
          const query = new URLSearchParams(pairs).toString();
          const url = `${scheme}://${user === undefined ? '' : `${encodeURIComponent(user)}@`}${host}${port === undefined ? '' : `:${port}`}/${database === undefined ? '' : encodeURIComponent(database)}${query ? `?${query}` : ''}`;
          const parsed = parseConnectionString(url) as Record<string, unknown>;

          const expected: Record<string, unknown> = { host };
          if (port !== undefined) expected.port = port;
          if (user !== undefined) expected.user = user;
          if (database !== undefined) expected.database = database;
          for (const [key, value] of pairs) expected[OPTION[key]] = key === 'port' || key === 'tokenDurationSecs' ? Number(value) : value; // the last one wins
          expect(parsed).toEqual(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('refuses an unknown parameter by name, without echoing its value', () => {
    const unknownKey = fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !(KNOWN as readonly string[]).includes(k) && k !== 'password');
    fc.assert(
      fc.property(unknownKey, fc.array(fc.tuple(fc.constantFrom(...KNOWN.filter((k) => k !== 'port' && k !== 'tokenDurationSecs')), text), { maxLength: 4 }), fc.nat(4), (key, known, at) => {
        const pairs: [string, string][] = [...known];
        pairs.splice(Math.min(at, pairs.length), 0, [key, `password=${SECRET}`]);
        const url = `postgres://h.example.com/db?${new URLSearchParams(pairs).toString()}`;
        expectConfigError(() => parseConnectionString(url), /^connectionString parameter ".*"$/s);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a password wherever it is — user-info or parameter, any encoding — and never shows it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('userinfo', 'param'),
        fc.constantFrom(SECRET, `${SECRET}&x=1`, `${SECRET}@host`, `é${SECRET}`),
        fc.array(fc.tuple(fc.constantFrom('region', 'sslmode', 'profile'), text), { maxLength: 3 }),
        (where, password, others) => {
          const pairs: [string, string][] = [...others];
          if (where === 'param') pairs.push(['password', password]);
          const userinfo = where === 'userinfo' ? `admin:${encodeURIComponent(password)}@` : 'admin@';
          const url = `postgres://${userinfo}h.example.com/db${pairs.length ? `?${new URLSearchParams(pairs).toString()}` : ''}`;
          expectConfigError(() => parseConnectionString(url), /^connectionString$/);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('turns malformed percent-encoding, non-numeric ports and durations into DsqlConfigErrors naming the part', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.constant('user'), fc.constantFrom('%', '%z1', '%E9', 'a%2')).map(([, bad]) => ({ url: `postgres://${bad}@h.example.com/db`, field: /^connectionString user$/ })),
          fc.tuple(fc.constant('database'), fc.constantFrom('%', '%zz', '%C3', 'db%')).map(([, bad]) => ({ url: `postgres://h.example.com/${bad}`, field: /^connectionString database$/ })),
          fc.tuple(fc.constantFrom('port', 'tokenDurationSecs'), fc.constantFrom('-1', '1.5', 'x', '', ' 9', '1e3', '0x10')).map(([key, bad]) => ({
            url: `postgres://h.example.com/db?${new URLSearchParams([[key, bad]]).toString()}`,
            field: new RegExp(`^connectionString ${key}$`),
          })),
        ),
        ({ url, field }) => expectConfigError(() => parseConnectionString(url), field),
      ),
      { numRuns: 200 },
    );
  });

  it('never throws anything but a DsqlError on arbitrary text, and never echoes a secret in it', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.tuple(fc.constantFrom('postgres://', 'dsql://', 'postgresql://', 'http://', 'postgres:', ''), fc.string(), fc.constantFrom(`:${SECRET}@`, `?password=${SECRET}`, ''), fc.string()).map((p) => p.join('')),
        ),
        (input) => {
          try {
            parseConnectionString(input);
          } catch (err) {
            expect(isDsqlError(err)).toBe(true);
            // Including an unknown parameter's error: a misspelt `pasword=…` must not be echoed.
            expect(`${(err as Error).message} ${inspect(err)}`).not.toContain(SECRET);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('unknown connection-string parameters', () => {
  it('are named but their value is never shown (a misspelt password parameter)', () => {
    let thrown: unknown;
    try {
      parseConnectionString('postgres://h.example.com/db?pasword=hunter2-secret');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DsqlConfigError);
    const shown = `${(thrown as Error).message} ${inspect(thrown)}`;
    expect(shown).toContain('pasword');
    expect(shown).not.toContain('hunter2');
  });
});
