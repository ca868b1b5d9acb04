import { jest } from '@jest/globals';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { TokenProvider, createDsqlSession, resolveConfig, isDsqlError, type AwsCredentials } from '../src/index.js';
import { tokenProviderFor } from '../src/auth/token-provider.js';
import { CLUSTER, CREDS, HOST, SESSION_CREDS, manualClock, verifyToken } from './helpers.js';

/** Runs `fn` with some environment variables set or removed, restoring them afterwards. */
async function withEnv(vars: Record<string, string | undefined>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>): void => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[k];
      else process.env[k] = value;
    }
  };
  apply(vars);
  try {
    await fn();
  } finally {
    apply(saved);
  }
}

/** A clock reading on a whole second, so tests can reason about X-Amz-Date's granularity. */
const WHOLE_SECOND = Math.floor(Date.now() / 1000) * 1000;

describe('TokenProvider', () => {
  it('signs a DbConnectAdmin token for admin that verifies for the right host, region and action', async () => {
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', user: 'admin', credentials: CREDS, now: Date.now });
    const token = await tp.getToken();
    expect(token.startsWith(`${HOST}/?`)).toBe(true);
    const v = await verifyToken(token, CREDS);
    expect(v).toMatchObject({ host: HOST, region: 'us-east-1', service: 'dsql', action: 'DbConnectAdmin', accessKeyId: CREDS.accessKeyId, expiresIn: 900, signatureMatches: true });
    // A different secret does not verify: the comparison is meaningful.
    const forged = await verifyToken(token, { ...CREDS, secretAccessKey: 'x'.repeat(40) });
    expect(forged.signatureMatches).toBe(false);
  });

  it('signs DbConnect for any other role, and the admin flag overrides', async () => {
    const app = new TokenProvider({ host: HOST, region: 'us-east-1', user: 'app', credentials: CREDS, now: Date.now });
    expect(app.action).toBe('DbConnect');
    expect((await verifyToken(await app.getToken(), CREDS)).action).toBe('DbConnect');
    expect(new TokenProvider({ host: HOST, region: 'us-east-1', user: 'app', admin: true, credentials: CREDS }).action).toBe('DbConnectAdmin');
    expect(new TokenProvider({ host: HOST, region: 'us-east-1', user: 'admin', admin: false, credentials: CREDS }).action).toBe('DbConnect');
  });

  it('includes the session token and the requested duration', async () => {
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: SESSION_CREDS, tokenDurationSecs: 3600, now: Date.now });
    const token = await tp.getToken();
    expect(new URL(`https://${token}`).searchParams.get('X-Amz-Security-Token')).toBe(SESSION_CREDS.sessionToken);
    const v = await verifyToken(token, SESSION_CREDS);
    expect(v.signatureMatches).toBe(true);
    expect(v.expiresIn).toBe(3600);
  });

  it('50 concurrent getToken() calls share one credential resolution and one signing', async () => {
    const provider = jest.fn(async (): Promise<AwsCredentials> => {
      await new Promise((r) => setTimeout(r, 20));
      return CREDS;
    });
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: provider, now: Date.now });
    const tokens = await Promise.all(Array.from({ length: 50 }, () => tp.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(provider).toHaveBeenCalledTimes(1);
    expect(tp.stats()).toMatchObject({ signings: 1, credentialResolutions: 1 });
    // ...and later calls are cache hits: any number of connections, one token.
    for (let i = 0; i < 100; i++) await tp.getToken();
    expect(tp.stats()).toMatchObject({ signings: 1, credentialResolutions: 1, cacheHits: 100 });
  });

  it('refreshes a token close to expiry (injected clock)', async () => {
    const clock = manualClock(WHOLE_SECOND);
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: CREDS, tokenDurationSecs: 900, now: clock.now });
    await tp.getToken();
    clock.advance(900_000 - 60_000 - 1); // just before the 60 s refresh margin
    await tp.getToken();
    expect(tp.stats().signings).toBe(1);
    clock.advance(1);
    await tp.getToken();
    expect(tp.stats().signings).toBe(2);
    expect(tp.stats().credentialResolutions).toBe(1); // long-term keys: never re-resolved
  });

  it('uses a quarter of the lifetime as margin for short tokens', async () => {
    const clock = manualClock(WHOLE_SECOND);
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: CREDS, tokenDurationSecs: 8, now: clock.now });
    await tp.getToken();
    clock.advance(5_999);
    await tp.getToken();
    expect(tp.stats().signings).toBe(1);
    clock.advance(1);
    await tp.getToken();
    expect(tp.stats().signings).toBe(2);
  });

  it('counts validity from the whole second in X-Amz-Date, not from the millisecond of signing', async () => {
    const clock = manualClock(WHOLE_SECOND + 900); // the token's X-Amz-Date is WHOLE_SECOND
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: CREDS, tokenDurationSecs: 8, now: clock.now });
    await tp.getToken();
    clock.advance(5_099); // WHOLE_SECOND + 5.999 s: before expiry (8 s) minus margin (2 s)
    await tp.getToken();
    expect(tp.stats().signings).toBe(1);
    clock.advance(1); // WHOLE_SECOND + 6 s: inside the margin of the real expiry
    await tp.getToken();
    expect(tp.stats().signings).toBe(2);
  });

  it('re-resolves credentials only when they near expiry, and never uses a token past its credentials', async () => {
    const clock = manualClock();
    let n = 0;
    const provider = jest.fn(async (): Promise<AwsCredentials> => ({ ...SESSION_CREDS, expiration: new Date(clock.now() + 10 * 60_000), accessKeyId: `ASIAEXAMPLEKEY0000${++n}` }));
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: provider, now: clock.now });
    await tp.getToken();
    clock.advance(4 * 60_000);
    await tp.getToken();
    expect(provider).toHaveBeenCalledTimes(1);
    // The credentials expire at +10 min, before the 15 min token: the token is refreshed before +10 min − 60 s,
    // and by then the credentials are within their 5 min margin, so they are re-resolved too.
    clock.advance(5 * 60_000 + 1);
    const token = await tp.getToken();
    expect(provider).toHaveBeenCalledTimes(2);
    expect(tp.stats()).toMatchObject({ signings: 2, credentialResolutions: 2 });
    expect(new URL(`https://${token}`).searchParams.get('X-Amz-Credential')).toContain('ASIAEXAMPLEKEY00002');
  });

  it('surfaces credential failures as DsqlCredentialsError with a hint, never with secrets, and retries next time', async () => {
    let fail = true;
    const provider = async (): Promise<AwsCredentials> => {
      if (fail) throw new Error(`connect ECONNREFUSED while reading password=${SESSION_CREDS.secretAccessKey}`);
      return CREDS;
    };
    const tp = new TokenProvider({ host: HOST, region: 'eu-west-1', credentials: provider, now: Date.now });
    const err = await tp.getToken().catch((e: unknown) => e);
    expect(isDsqlError(err, 'credentials-unavailable')).toBe(true);
    const text = `${(err as Error).message} ${inspect(err)}`;
    expect(text).toContain('provider function');
    expect(text).toContain(HOST);
    expect(text).toContain('eu-west-1');
    expect(text).not.toContain(SESSION_CREDS.secretAccessKey);
    expect((err as { hint: string }).hint).toMatch(/credentials/i);
    fail = false;
    await expect(tp.getToken()).resolves.toContain(HOST);
    expect(tp.stats().failures).toBe(1);
  });

  it('rejects expired fixed credentials and invalid provider results', async () => {
    const expired = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: { ...CREDS, expiration: new Date(Date.now() - 1000) }, now: Date.now });
    await expect(expired.getToken()).rejects.toMatchObject({ name: 'DsqlCredentialsError', message: expect.stringMatching(/expired/) });
    const junk = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: (async () => ({})) as never, now: Date.now });
    await expect(junk.getToken()).rejects.toMatchObject({ code: 'credentials-unavailable' });
  });

  it('honours a profile for real (fromIni with a temporary shared credentials file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsql-core-'));
    writeFileSync(join(dir, 'credentials'), `[dsqltest]\naws_access_key_id = ${CREDS.accessKeyId}\naws_secret_access_key = ${CREDS.secretAccessKey}\n`);
    writeFileSync(join(dir, 'config'), '[profile dsqltest]\nregion = us-east-1\n');
    try {
      await withEnv({ AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_CONFIG_FILE: join(dir, 'config') }, async () => {
        const tp = new TokenProvider({ host: HOST, region: 'us-east-1', profile: 'dsqltest', now: Date.now });
        const v = await verifyToken(await tp.getToken(), CREDS);
        expect(v.signatureMatches).toBe(true);
        const missing = new TokenProvider({ host: HOST, region: 'us-east-1', profile: 'nosuchprofile', now: Date.now });
        const err = await missing.getToken().catch((e: unknown) => e);
        expect(err).toMatchObject({ name: 'DsqlCredentialsError', source: expect.stringContaining('profile "nosuchprofile"') });
        expect((err as { hint: string }).hint).toContain('nosuchprofile');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses the default chain (environment credentials) when nothing is given', async () => {
    await withEnv(
      { AWS_PROFILE: undefined, AWS_ACCESS_KEY_ID: SESSION_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: SESSION_CREDS.secretAccessKey, AWS_SESSION_TOKEN: SESSION_CREDS.sessionToken },
      async () => {
        const tp = new TokenProvider({ host: HOST, region: 'us-east-1', now: Date.now });
        expect((await verifyToken(await tp.getToken(), SESSION_CREDS)).signatureMatches).toBe(true);
      },
    );
  });

  it('shares one provider per (host, region, user, action, duration, credential source)', () => {
    const opts = { host: HOST, region: 'us-east-1', user: 'admin', credentials: CREDS };
    const a = TokenProvider.shared(opts);
    expect(TokenProvider.shared({ ...opts })).toBe(a);
    expect(TokenProvider.shared({ ...opts, host: HOST.toUpperCase() })).toBe(a);
    expect(TokenProvider.shared({ ...opts, user: 'app' })).not.toBe(a);
    expect(TokenProvider.shared({ ...opts, tokenDurationSecs: 60 })).not.toBe(a);
    expect(TokenProvider.shared({ ...opts, credentials: { ...CREDS } })).not.toBe(a);
    const config = resolveConfig({ host: CLUSTER, region: 'us-east-1', credentials: CREDS }, undefined, {});
    expect(tokenProviderFor(config)).toBe(a);
    expect(createDsqlSession({ host: CLUSTER, region: 'us-east-1', credentials: CREDS }, undefined, {}).tokens).toBe(a);
  });

  it('validates its options with errors naming the field', () => {
    expect(() => new TokenProvider({ host: 'http://x', region: 'us-east-1' })).toThrow(/Invalid host/);
    expect(() => new TokenProvider({ host: HOST, region: 'mars' })).toThrow(/Invalid region/);
    expect(() => new TokenProvider({ host: HOST, region: 'us-east-1', tokenDurationSecs: 604_801 })).toThrow(/tokenDurationSecs.*604800/);
    expect(() => new TokenProvider({ host: HOST, region: 'us-east-1', tokenDurationSecs: 0 })).toThrow(/tokenDurationSecs/);
    expect(() => new TokenProvider({ host: HOST, region: 'us-east-1', credentials: { accessKeyId: 'x' } as never })).toThrow(/credentials/);
    expect(() => new TokenProvider({ host: HOST, region: 'us-east-1', user: '' })).toThrow(/user/);
    expect(() => new TokenProvider({ host: HOST, region: 'us-east-1', admin: 'yes' as never })).toThrow(/admin/);
    expect(() => new TokenProvider(null as never)).toThrow(/TokenProvider options/);
    expect(new TokenProvider({ host: HOST, region: 'us-east-1', tokenDurationSecs: 604_800 }).tokenDurationSecs).toBe(604_800);
  });

  it('never shows the token or the credentials in util.inspect or JSON', async () => {
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: SESSION_CREDS, now: Date.now });
    const token = await tp.getToken();
    const shown = `${inspect(tp, { showHidden: true, depth: 10 })} ${JSON.stringify(tp)}`;
    for (const secret of [token, SESSION_CREDS.secretAccessKey, SESSION_CREDS.sessionToken!, 'X-Amz-Signature']) expect(shown).not.toContain(secret);
    expect(shown).toContain(HOST);
  });
});
