import { connectWithRetry, describeConnectError, isDsqlError, resolveConfig, redact } from '../src/index.js';
import { CLUSTER, HOST, manualClock, pgError, socketError } from './helpers.js';

function fakeTime() {
  const clock = manualClock(0);
  const delays: number[] = [];
  return { clock, delays, sleep: async (ms: number) => void (delays.push(ms), clock.advance(ms)), now: clock.now };
}

describe('connectWithRetry', () => {
  it('retries transient refusals (rate exceeded, too many connections, waking up, resets) with backoff', async () => {
    const t = fakeTime();
    const failures = [
      pgError('53400', 'Unable to accept connection, rate exceeded.'),
      pgError('53300', 'Unable to accept connection, too many open connections.'),
      new Error('unable to accept connection, waking up cluster, please retry later'),
      socketError('ECONNREFUSED'),
    ];
    const seen: number[] = [];
    const conn = await connectWithRetry(async (attempt) => {
      seen.push(attempt);
      const f = failures.shift();
      if (f) throw f;
      return 'connection';
    }, { sleep: t.sleep, now: t.now, random: () => 0.5 });
    expect(conn).toBe('connection');
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(t.delays).toEqual([50, 100, 200, 400]);
  });

  it('never retries access denied', async () => {
    let calls = 0;
    const denied = pgError('08006', 'unable to accept connection, access denied');
    await expect(connectWithRetry(async () => { calls++; throw denied; })).rejects.toBe(denied);
    expect(calls).toBe(1);
  });

  it('stops at the deadline', async () => {
    const t = fakeTime();
    let calls = 0;
    const err = await connectWithRetry(async () => { calls++; t.clock.advance(1000); throw socketError('ETIMEDOUT'); }, { deadlineMs: 5000, sleep: t.sleep, now: t.now, random: () => 0.999 }).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('ETIMEDOUT');
    expect(t.clock.now()).toBeLessThanOrEqual(5000);
    expect(calls).toBeGreaterThan(1);
    expect(() => connectWithRetry(async () => 1, { deadlineMs: -1 })).toThrow(/deadlineMs/);
  });

  it('can be aborted while waiting', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await connectWithRetry(async () => { throw socketError('ECONNRESET'); }, { signal: controller.signal, onRetry: () => {} }).catch((e: unknown) => e);
    expect(isDsqlError(err, 'aborted')).toBe(true);
  });
});

describe('describeConnectError', () => {
  const admin = resolveConfig({ host: HOST, hostaddr: '10.0.0.1' }, undefined, {});
  const app = resolveConfig({ host: HOST, user: 'app' }, undefined, {});
  const denied = (hint?: string): Error => pgError('08006', 'unable to accept connection, access denied', { severity: 'FATAL', ...(hint ? { hint } : {}) });

  it.each([
    ['Signature expired: 20261124T130827Z is now earlier than 20261124T131000Z', /clock/],
    ['Wrong user to action mapping. user: admin, action: DbConnect', /admin role needs DbConnectAdmin/],
    [`User: arn:aws:iam::123456789012:role/app is not authorized to perform: dsql:DbConnectAdmin on resource: arn:aws:dsql:us-east-1:123456789012:cluster/${CLUSTER}`, /dsql:DbConnectAdmin/],
    ['The security token included in the request is invalid', /credentials are invalid or expired/],
    ['Credential should be scoped to a valid region', /Region us-east-1/],
    // @dsql/local's hints for a token signed for another host name (issue 15: not "check your secret key").
    [`The token was signed for a host name with upper-case letters; the endpoint's host name is ${HOST}.`, /signed for .* not the host name the endpoint answers to/],
    [`Unknown cluster other.dsql.us-east-1.on.aws; this endpoint serves ${HOST}.`, /not the host name the endpoint answers to/],
  ])('explains access denied with hint %j', (hint, pattern) => {
    const out = describeConnectError(denied(hint), admin) as Error & { hint: string; kind: string };
    expect(isDsqlError(out, 'connect-failed')).toBe(true);
    expect(out.kind).toBe('access-denied');
    expect(out.hint).toMatch(pattern);
    expect(out.message).toContain('dialled at 10.0.0.1');
    expect(out.cause).toBeDefined();
  });

  it('lists the usual causes without a server hint, and mentions IAM GRANT for non-admin roles', () => {
    const out = describeConnectError(denied(), app) as { hint: string };
    expect(out.hint).toMatch(/Region.*DbConnect.*credentials.*token host.*AWS IAM GRANT/s);
    const wrongAction = describeConnectError(denied('User: arn:x is not authorized to perform: dsql:DbConnect'), app) as { hint: string };
    expect(wrongAction.hint).toContain("AWS IAM GRANT app TO '<principal arn>'");
  });

  it('explains a missing SNI, and returns other errors unchanged', () => {
    const sni = describeConnectError(new Error('unable to accept connection, sni was not received'), admin) as { kind: string; hint: string };
    expect(sni.kind).toBe('tls');
    expect(sni.hint).toMatch(/hostaddr/);
    const other = socketError('ECONNRESET');
    expect(describeConnectError(other, admin)).toBe(other);
  });

  it('never carries the token', () => {
    const token = `${HOST}/?Action=DbConnectAdmin&X-Amz-Signature=${'c'.repeat(64)}`;
    const out = describeConnectError(Object.assign(denied(`bad token ${token}`), { config: { password: token } }), admin) as Error & { hint: string };
    expect(`${out.message} ${out.hint}`).not.toContain('cccc');
    expect(redact(token)).toBe('[redacted]');
  });
});
