import { DsqlSigner } from '@aws-sdk/dsql-signer';
import { verifyDsqlToken, type DsqlLocalCredentials } from '../src/index.js';

const host = 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws';
const region = 'us-east-1';
const creds: DsqlLocalCredentials = { accessKeyId: 'AKIALOCALTEST0000001', secretAccessKey: 'secret-one' };
const other: DsqlLocalCredentials = { accessKeyId: 'AKIALOCALTEST0000002', secretAccessKey: 'secret-two' };

function sign(c: DsqlLocalCredentials, o: { expiresIn?: number; admin?: boolean } = {}): Promise<string> {
  const signer = new DsqlSigner({ hostname: host, region, credentials: c, ...(o.expiresIn ? { expiresIn: o.expiresIn } : {}) });
  return o.admin === false ? signer.getDbConnectAuthToken() : signer.getDbConnectAdminAuthToken();
}

const expectation = { host, region, user: 'admin', credentials: [creds, other] };

describe('verifyDsqlToken', () => {
  it('accepts tokens of any identity in the set, for admin and other roles', async () => {
    expect(await verifyDsqlToken(await sign(creds), expectation)).toEqual({ ok: true });
    expect(await verifyDsqlToken(await sign(other), expectation)).toEqual({ ok: true });
    expect(await verifyDsqlToken(await sign(creds, { admin: false }), { ...expectation, user: 'app' })).toEqual({ ok: true });
  });

  it('is case-insensitive on the host and reusable until expiry', async () => {
    const t = await sign(creds);
    expect(await verifyDsqlToken(t, { ...expectation, host: host.toUpperCase() })).toEqual({ ok: true });
    expect(await verifyDsqlToken(t, { ...expectation, now: Date.now() + 899_000 })).toEqual({ ok: true });
  });

  it('refuses an expired token with the Signature expired hint', async () => {
    const v = await verifyDsqlToken(await sign(creds), { ...expectation, now: Date.now() + 901_000 });
    expect(v).toEqual({ ok: false, reason: 'expired', hint: expect.stringMatching(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z$/) });
  });

  it('refuses an expiry longer than one week', async () => {
    expect(await verifyDsqlToken(await sign(creds, { expiresIn: 604_800 }), expectation)).toEqual({ ok: true });
    // The SDK refuses to sign beyond a week; a client could still send such a token.
    const tooLong = (await sign(creds)).replace('X-Amz-Expires=900', 'X-Amz-Expires=604801');
    expect(await verifyDsqlToken(tooLong, expectation)).toEqual(
      expect.objectContaining({ ok: false, reason: 'expiry-too-long' }),
    );
  });

  it('refuses a token dated in the future beyond clock skew', async () => {
    const v = await verifyDsqlToken(await sign(creds), { ...expectation, now: Date.now() - 10 * 60_000 });
    expect(v).toEqual(expect.objectContaining({ ok: false, reason: 'not-yet-valid' }));
  });

  it('refuses unknown access keys and tampered signatures', async () => {
    const stranger = await sign({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' });
    expect(await verifyDsqlToken(stranger, expectation)).toEqual(expect.objectContaining({ ok: false, reason: 'unknown-access-key' }));
    const t = await sign(creds);
    const tampered = t.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
    expect(await verifyDsqlToken(tampered, expectation)).toEqual(expect.objectContaining({ ok: false, reason: 'signature-mismatch' }));
    const otherAction = t.replace('Action=DbConnectAdmin', 'Action=DbConnect');
    expect(await verifyDsqlToken(otherAction, { ...expectation, user: 'app' })).toEqual(
      expect.objectContaining({ ok: false, reason: 'signature-mismatch' }),
    );
  });

  it('checks the session token of session credentials', async () => {
    const session: DsqlLocalCredentials = { accessKeyId: 'ASIALOCALTEST0000003', secretAccessKey: 's3', sessionToken: 'the-session' };
    const good = await sign(session);
    expect(good).toContain('X-Amz-Security-Token=the-session');
    expect(await verifyDsqlToken(good, { ...expectation, credentials: [session] })).toEqual({ ok: true });
    const wrong = await sign({ ...session, sessionToken: 'another' });
    expect(await verifyDsqlToken(wrong, { ...expectation, credentials: [session] })).toEqual(
      expect.objectContaining({ ok: false, reason: 'unknown-access-key' }),
    );
  });

  it('refuses malformed input without echoing it', async () => {
    for (const bad of ['', 'hunter2', `${host}/?Action=DbConnectAdmin`, 'https://x y']) {
      const v = await verifyDsqlToken(bad, expectation);
      expect(v).toEqual(expect.objectContaining({ ok: false, reason: 'malformed' }));
      if (!v.ok && bad) expect(v.hint).not.toContain(bad);
    }
  });
});

describe('verifyDsqlToken is stricter than DSQL: only what an SDK signer produces', () => {
  const refused = (reason: string, hint: RegExp) => expect.objectContaining({ ok: false, reason, hint: expect.stringMatching(hint) });

  it('refuses unsigned extra parameters and duplicated ones, whichever copy comes first', async () => {
    const t = await sign(creds);
    const cases: [string, RegExp][] = [
      [`${t}&X-Amz-Extra=1`, /"X-Amz-Extra", which SDK signers never add/],
      [`${t}&foo=bar`, /"foo", which SDK signers never add/],
      [`${t}&Action=DbConnect`, /"Action" more than once/],
      [t.replace('?Action=DbConnectAdmin&', '?Action=DbConnectAdmin&Action=DbConnectAdmin&'), /"Action" more than once/],
      [t.replace('X-Amz-Expires=900', 'X-Amz-Expires=900&X-Amz-Expires=900'), /"X-Amz-Expires" more than once/],
      [t.replace('X-Amz-Expires=900', 'X-Amz-Expires=604800&X-Amz-Expires=900'), /"X-Amz-Expires" more than once/],
      [t.replace(/X-Amz-Signature=([0-9a-f]{64})/, 'X-Amz-Signature=$1&X-Amz-Signature=$1'), /"X-Amz-Signature" more than once/],
      [`${t}&`, /SDK signers never add/],
    ];
    for (const [bad, hint] of cases) expect(await verifyDsqlToken(bad, expectation)).toEqual(refused('malformed', hint));
  });

  it('refuses numbers and dates that are not written canonically', async () => {
    const t = await sign(creds);
    for (const expires of ['9e2', '0900', '+900', '900.0', '900%20', ' 900', '0x384']) {
      const bad = t.replace('X-Amz-Expires=900', `X-Amz-Expires=${expires}`);
      expect(await verifyDsqlToken(bad, expectation)).toEqual(refused('malformed', /X-Amz-Expires must be a whole number|not encoded as SigV4|not valid percent/));
    }
    const date = /X-Amz-Date=(\d{8})T(\d{6})Z/.exec(t)!;
    for (const d of [`${date[1]}T${date[2]}z`, `${date[1]}t${date[2]}Z`, '20261301T000000Z', '20260230T000000Z', `${date[1]}T${date[2]}Z0`]) {
      const bad = t.replace(date[0], `X-Amz-Date=${d}`);
      expect(await verifyDsqlToken(bad, expectation)).toEqual(refused('malformed', /X-Amz-Date must be a real date/));
    }
  });

  it('refuses a user info prefix, a port, a scheme, another path, a fragment and non-canonical encoding', async () => {
    const t = await sign(creds);
    const cases: [string, RegExp][] = [
      [`user@${t}`, /Remove the user info/],
      [`user:pass@${t}`, /Remove the user info/],
      [t.replace(`${host}/`, `${host}:443/`), /Remove the port/],
      [`https://${t}`, /Remove the scheme/],
      [`${t}#frag`, /Remove the fragment/],
      [t.replace(`${host}/?`, `${host}/./?`), /The path must be "\/"/],
      [t.replace(`${host}/?`, `${host}//?`), /The path must be "\/"/],
      [t.replace(`${host}/?`, `${host}?`), /not a DSQL authentication token/],
      [t.replace('%2F', '%2f'), /not encoded as SigV4 encodes it/],
      [t.replace('%2F', '/'), /not encoded as SigV4 encodes it/],
      [t.replace('Action=DbConnectAdmin', 'Action=DbConnect%41dmin'), /not encoded as SigV4 encodes it/],
      [t.replace('%2F', '%ZZ'), /not valid percent-encoding/],
      [t.replace('%2F', '%C0%AF'), /not valid percent-encoding/],
    ];
    for (const [bad, hint] of cases) expect(await verifyDsqlToken(bad, expectation)).toEqual(refused('malformed', hint));
  });

  it('refuses a padded token by its length, before any parsing', async () => {
    const t = await sign(creds);
    const padded = `${t}&X-Amz-Pad=${'a'.repeat(1024 * 1024)}`;
    const started = performance.now();
    expect(await verifyDsqlToken(padded, expectation)).toEqual(refused('malformed', /longer than 16384 characters/));
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('refuses a session token signed in for an identity configured without one', async () => {
    const withSession = await sign({ ...creds, sessionToken: 'a-session-the-emulator-never-issued' });
    expect(await verifyDsqlToken(withSession, expectation)).toEqual(refused('unknown-access-key', /configured without one/));
  });

  it('says the host differs when the token was signed for an upper-case host name', async () => {
    const upper = await new DsqlSigner({ hostname: host.toUpperCase(), region, credentials: creds }).getDbConnectAdminAuthToken();
    const v = await verifyDsqlToken(upper, expectation);
    expect(v).toEqual(refused('wrong-host', /upper-case letters; the endpoint's host name is abcdefghijklmnopqrstuvwxyz\.dsql/));
    expect(v.ok || v.hint).not.toMatch(/Secret Access Key/);
  });

  it('still accepts every SDK token shape: any parameter order, session tokens with reserved characters', async () => {
    const t = await sign(creds);
    const [authority, query] = t.split('/?');
    const reversed = `${authority}/?${query!.split('&').reverse().join('&')}`;
    expect(await verifyDsqlToken(reversed, expectation)).toEqual({ ok: true });
    const session: DsqlLocalCredentials = { accessKeyId: 'ASIALOCALTEST0000009', secretAccessKey: 's', sessionToken: "IQoJb3+/=!'()*~ x" };
    expect(await verifyDsqlToken(await sign(session), { ...expectation, credentials: [session] })).toEqual({ ok: true });
  });
});
