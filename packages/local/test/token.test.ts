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
