/**
 * createDsqlBrowserSession: a page's options resolved into what its connections need, validated
 * at once. Its WebSocket (`openSocket`) runs in Chromium: @dsql/postgres's browser.integration.test.ts.
 */
import { createDsqlBrowserSession, type DsqlBrowserSessionOptions } from '../src/session/browser-session.js';
import { isDsqlError } from '../src/errors/index.js';
import { CLUSTER, CREDS, HOST, verifyToken } from './helpers.js';

/** The DsqlConfigError `make()` throws: its field and message. */
function configError(make: () => unknown): { field: unknown; message: string } {
  try {
    make();
  } catch (err) {
    expect(isDsqlError(err, 'invalid-config')).toBe(true);
    return { field: (err as { field?: unknown }).field, message: (err as Error).message };
  }
  throw new Error('expected a DsqlConfigError, nothing was thrown');
}

describe('createDsqlBrowserSession', () => {
  it('resolves the endpoint, the defaults and the driver options left over', async () => {
    const session = createDsqlBrowserSession({ host: CLUSTER, region: 'us-east-1', credentials: CREDS, maxLifetimeSeconds: [10, 20], max: 2 } as DsqlBrowserSessionOptions);
    expect(session).toMatchObject({ host: HOST, port: 443, user: 'admin', database: 'postgres', retry: true, driverOptions: { max: 2 } });
    expect(Object.keys(session.driverOptions)).toEqual(['max']);
    for (let i = 0; i < 20; i++) expect(session.lifetime.drawLifetimeSeconds()).toBeGreaterThanOrEqual(10);
    for (let i = 0; i < 20; i++) expect(session.lifetime.drawLifetimeSeconds()).toBeLessThanOrEqual(20);
    const verified = await verifyToken(await session.tokens.getToken(), CREDS);
    expect(verified).toMatchObject({ host: HOST, region: 'us-east-1', action: 'DbConnectAdmin', signatureMatches: true });
  });

  it('signs for the role given, with DbConnect', async () => {
    const session = createDsqlBrowserSession({ host: HOST, user: 'app', database: 'postgres', credentials: async () => CREDS, retry: false });
    expect(session).toMatchObject({ user: 'app', retry: false });
    expect((await verifyToken(await session.tokens.getToken(), CREDS)).action).toBe('DbConnect');
  });

  it('refuses bad options at once, naming the field', () => {
    expect(configError(() => createDsqlBrowserSession(null as never))).toMatchObject({ field: 'options' });
    const noCredentials = configError(() => createDsqlBrowserSession({ host: HOST } as never));
    expect(noCredentials.field).toBe('credentials');
    expect(noCredentials.message).toMatch(/there is no default chain/);
    expect(configError(() => createDsqlBrowserSession({ host: HOST, credentials: CREDS, webSocketUrl: 'ws://plain:80' })).field).toBe('webSocketUrl');
    expect(configError(() => createDsqlBrowserSession({ host: 'db.example.com', credentials: CREDS })).message).toMatch(/region/);
  });
});
