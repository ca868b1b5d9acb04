import { inspect } from 'node:util';
import { ConnectRateLimiter, DSQL_SESSION, DsqlConfigError, DsqlConnectError, TokenProvider, createDsqlSession, resolveConfig, sessionCarriedBy } from '../src/index.js';
import { CLUSTER, CREDS, HOST, verifyToken } from './helpers.js';

const NO_ENV = {};

describe('createDsqlSession', () => {
  it('resolves the config once and derives every part of a connection from it', () => {
    const session = createDsqlSession({ host: CLUSTER, region: 'us-east-1', user: 'app', credentials: CREDS, retry: { maxAttempts: 4 } }, undefined, NO_ENV);
    expect(session.config).toEqual(resolveConfig({ host: CLUSTER, region: 'us-east-1', user: 'app', credentials: CREDS, retry: { maxAttempts: 4 } }, undefined, NO_ENV));
    expect(session.dial).toEqual({ host: HOST, port: 5432, hostaddr: undefined, address: HOST, servername: HOST });
    expect(session.tls).toMatchObject({ servername: HOST, rejectUnauthorized: true });
    expect(session.tokens).toBeInstanceOf(TokenProvider);
    expect(session.tokens).toBe(TokenProvider.shared({ host: HOST, region: 'us-east-1', user: 'app', credentials: CREDS }));
    expect(session.limiter).toBeInstanceOf(ConnectRateLimiter);
    expect(session.retry).toBe(session.config.retry);
    expect(session.retry).toMatchObject({ maxAttempts: 4 });
    expect(session.retryRequested).toBe(true);
    expect(createDsqlSession({ host: HOST, credentials: CREDS }, undefined, NO_ENV).retryRequested).toBe(false);
    expect(createDsqlSession({ host: HOST, credentials: CREDS }, { retry: false }, NO_ENV)).toMatchObject({ retry: false, retryRequested: true });
    expect(session.connectDeadlineMs).toBe(30_000);
    expect(session.detectNestedTransactions).toBe(true);
    expect(session.lifetime.maxLifetimeSeconds).toEqual([2700, 3300]);
    expect(session.lifetime.idleTimeoutMillis).toBe(600_000);
  });

  it('is frozen, and so is its dial target', () => {
    const session = createDsqlSession({ host: HOST, credentials: CREDS }, undefined, NO_ENV);
    expect(Object.isFrozen(session)).toBe(true);
    expect(Object.isFrozen(session.dial)).toBe(true);
    expect(Object.isFrozen(session.lifetime)).toBe(true);
  });

  it('dials hostaddr while TLS, SNI and the token keep naming the cluster', async () => {
    const session = createDsqlSession({ host: HOST, hostaddr: '10.0.0.7', credentials: CREDS }, undefined, NO_ENV);
    expect(session.dial).toEqual({ host: HOST, port: 5432, hostaddr: '10.0.0.7', address: '10.0.0.7', servername: HOST });
    expect(session.tls).toMatchObject({ servername: HOST });
    const verified = await verifyToken(await session.tokens.getToken(), CREDS);
    expect(verified.host).toBe(HOST);
  });

  it('sends no SNI for an IP host and no TLS options for sslmode disable on a custom host', () => {
    const session = createDsqlSession({ host: '127.0.0.1', region: 'us-east-1', port: 15432, sslmode: 'disable', credentials: CREDS }, undefined, NO_ENV);
    expect(session.dial.servername).toBeUndefined();
    expect(session.dial.address).toBe('127.0.0.1');
    expect(session.tls).toBe(false);
  });

  it('shares the cluster limiter across endpoint forms, and has none when connectRateLimit is false', () => {
    const viaPublic = createDsqlSession({ host: HOST, credentials: CREDS }, undefined, NO_ENV);
    const viaAddress = createDsqlSession({ host: HOST, hostaddr: '10.1.2.3', credentials: CREDS }, undefined, NO_ENV);
    expect(viaAddress.limiter).toBe(viaPublic.limiter);
    expect(createDsqlSession({ host: HOST, credentials: CREDS, connectRateLimit: false }, undefined, NO_ENV).limiter).toBeUndefined();
  });

  it('draws each connection its own lifetime inside the window', () => {
    const { lifetime } = createDsqlSession({ host: HOST, credentials: CREDS, maxLifetimeSeconds: [100, 200] }, undefined, NO_ENV);
    const draws = Array.from({ length: 200 }, () => lifetime.nextMaxLifetimeSeconds());
    for (const s of draws) {
      expect(s).toBeGreaterThanOrEqual(100);
      expect(s).toBeLessThanOrEqual(200);
    }
    expect(new Set(draws).size).toBeGreaterThan(1);
    const ms = lifetime.drawLifetimeMillis();
    expect(ms).toBeGreaterThanOrEqual(100_000);
    expect(ms).toBeLessThanOrEqual(200_000);
  });

  it('takes the driver-side idle timeout and connect deadline, overrides first', () => {
    const session = createDsqlSession({ host: HOST, credentials: CREDS, idleTimeoutMillis: 5, connectDeadlineMs: 1000 }, { connectDeadlineMs: 2000 }, NO_ENV);
    expect(session.lifetime.idleTimeoutMillis).toBe(5);
    expect(session.connectDeadlineMs).toBe(2000);
    // node-postgres's null idle timeout keeps idle connections, like 0.
    expect(createDsqlSession({ host: HOST, credentials: CREDS, idleTimeoutMillis: null }, undefined, NO_ENV).lifetime.idleTimeoutMillis).toBe(0);
  });

  it('validates the options it adds, naming the field and what is accepted', () => {
    const bad = (o: object): unknown => {
      try {
        createDsqlSession({ host: HOST, credentials: CREDS, ...o }, undefined, NO_ENV);
      } catch (err) {
        return err;
      }
      throw new Error('expected a DsqlConfigError');
    };
    const nested = bad({ detectNestedTransactions: 'no' }) as DsqlConfigError;
    expect(nested).toBeInstanceOf(DsqlConfigError);
    expect(nested.field).toBe('detectNestedTransactions');
    expect(nested.message).toMatch(/detectNestedTransactions.*"no".*true or false/s);
    expect((bad({ connectDeadlineMs: -1 }) as DsqlConfigError).field).toBe('connectDeadlineMs');
    expect((bad({ idleTimeoutMillis: -5 }) as DsqlConfigError).field).toBe('idleTimeoutMillis');
    expect((bad({ maxLifetimeSeconds: 7200 }) as DsqlConfigError).field).toBe('maxLifetimeSeconds');
    expect(createDsqlSession({ host: HOST, credentials: CREDS }, { detectNestedTransactions: false }, NO_ENV).detectNestedTransactions).toBe(false);
  });

  it('explains a refused connection for its own config', () => {
    const session = createDsqlSession({ host: HOST, hostaddr: '10.0.0.7', user: 'app', credentials: CREDS }, undefined, NO_ENV);
    const denied = Object.assign(new Error('unable to accept connection, access denied'), { code: '08006', severity: 'FATAL' });
    const described = session.describeConnectError(denied) as DsqlConnectError;
    expect(described).toBeInstanceOf(DsqlConnectError);
    expect(described.message).toContain(`${HOST} (dialled at 10.0.0.7) as "app"`);
    const other = new Error('something else');
    expect(session.describeConnectError(other)).toBe(other);
  });

  it('never shows credentials when inspected or serialised', () => {
    const session = createDsqlSession({ host: HOST, credentials: CREDS }, undefined, NO_ENV);
    expect(inspect(session, { depth: 5 })).not.toContain(CREDS.secretAccessKey);
    expect(JSON.stringify(session)).not.toContain(CREDS.secretAccessKey);
  });

  it('hands a session on with the options it was made from (resolved once)', () => {
    const options = { host: HOST, credentials: CREDS };
    const session = createDsqlSession(options, undefined, NO_ENV);
    expect(sessionCarriedBy({ ...options, [DSQL_SESSION]: session })).toBe(session);
    expect(sessionCarriedBy(options)).toBeUndefined();
    expect(sessionCarriedBy({ [DSQL_SESSION]: 'not a session' })).toBeUndefined();
    expect(sessionCarriedBy('postgres://x')).toBeUndefined();
  });
});
