import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  DSQL_CHANNELS,
  TokenProvider,
  createDsqlSession,
  runTransaction,
  runManagedTransaction,
  connectOutcome,
  probeConnectAttempt,
  type TransactionDriver,
} from '../src/index.js';
import { CREDS, HOST, SESSION_CREDS, pgError, socketError } from './helpers.js';

type Message = Record<string, unknown> & { channel: string };

/** Records every message of every DSQL channel while `fn` runs. */
async function recording(fn: () => Promise<unknown>): Promise<Message[]> {
  const seen: Message[] = [];
  const listeners = Object.values(DSQL_CHANNELS).map((name) => {
    const listener = (m: unknown): void => void seen.push({ channel: name, ...(m as Record<string, unknown>) });
    subscribe(name, listener);
    return [name, listener] as const;
  });
  try {
    await fn().catch(() => undefined);
  } finally {
    for (const [name, listener] of listeners) unsubscribe(name, listener);
  }
  return seen;
}

const SECRETS = [CREDS.secretAccessKey, SESSION_CREDS.secretAccessKey, SESSION_CREDS.sessionToken!, 'X-Amz-Signature', 'hunter2'];
function assertNoSecret(messages: Message[]): void {
  const text = JSON.stringify(messages);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

function driver(commits: (Error | string)[]): TransactionDriver<number> {
  return {
    connect: async () => 1,
    begin: async () => {},
    commit: async () => {
      const r = commits.shift() ?? 'COMMIT';
      if (r instanceof Error) throw r;
      return r;
    },
    rollback: async () => {},
    release: async () => {},
  };
}
const occ = (): Error => pgError('40001', 'change conflicts with another transaction (OC000)');
const fast = { baseDelayMs: 0, maxDelayMs: 0 };

describe('diagnostics channels', () => {
  test('names are the documented contract', () => {
    expect(DSQL_CHANNELS).toEqual({
      connectStart: 'dsql:connect:start',
      connectRateLimitWait: 'dsql:connect:rate-limit-wait',
      connectEnd: 'dsql:connect:end',
      connectionClosed: 'dsql:connection:closed',
      tokenSigned: 'dsql:token:signed',
      tokenStaleServed: 'dsql:token:stale-served',
      credentialsResolved: 'dsql:credentials:resolved',
      transactionStart: 'dsql:transaction:start',
      transactionAttempt: 'dsql:transaction:attempt',
      transactionEnd: 'dsql:transaction:end',
    });
  });

  test('a transaction with two OCC conflicts: start, three attempts, end', async () => {
    const messages = await recording(() => runTransaction(driver([occ(), occ()]), async () => 'ok', fast));
    const tx = messages.filter((m) => m.channel.startsWith('dsql:transaction:'));
    expect(tx.map((m) => [m.channel, m.attempt, m.outcome])).toEqual([
      ['dsql:transaction:start', undefined, undefined],
      ['dsql:transaction:attempt', 1, 'occ_conflict'],
      ['dsql:transaction:attempt', 2, 'occ_conflict'],
      ['dsql:transaction:attempt', 3, 'committed'],
      ['dsql:transaction:end', undefined, 'committed'],
    ]);
    expect(new Set(tx.map((m) => m.transactionId)).size).toBe(1);
    expect(tx[1]).toMatchObject({ errorKind: 'occ-conflict', sqlstate: '40001' });
    expect(tx[4]).toMatchObject({ attempts: 3 });
    for (const m of tx.slice(1)) expect(m.durationMs).toEqual(expect.any(Number));
  });

  test('a lost COMMIT answer is commit_unknown and ends the call; retry: false makes one attempt', async () => {
    const messages = await recording(() => runTransaction(driver([socketError('ECONNRESET')]), async () => 'ok', false));
    expect(messages.filter((m) => m.channel !== 'dsql:transaction:start').map((m) => [m.channel, m.outcome])).toEqual([
      ['dsql:transaction:attempt', 'commit_unknown'],
      ['dsql:transaction:end', 'commit_unknown'],
    ]);
  });

  test('driver-run transactions (runManagedTransaction): a transient failure before COMMIT, then committed', async () => {
    let n = 0;
    const messages = await recording(() =>
      runManagedTransaction(async ({ commitSent }) => {
        if (++n === 1) throw socketError('ECONNRESET');
        commitSent();
        return 1;
      }, fast),
    );
    expect(messages.filter((m) => m.channel === 'dsql:transaction:attempt').map((m) => m.outcome)).toEqual(['transient', 'committed']);
  });

  test('nothing is published (and nothing is built) without subscribers', async () => {
    // No subscriber: the runner's result is untouched and no listener can have been called.
    await expect(runTransaction(driver([occ()]), async () => 7, fast)).resolves.toBe(7);
    // A bare probe (no session: no stats, no logger) is the shared no-op one.
    const where = { endpoint: HOST, region: 'us-east-1', port: 5432, user: 'admin', database: 'postgres' };
    const a = probeConnectAttempt(where);
    expect(probeConnectAttempt(where)).toBe(a);
    expect(a.succeeded()).toBeUndefined(); // nothing to watch: the adapter skips its close bookkeeping
    // A session's probe counts for its stats(), subscribers or not (the same outcomes it would publish).
    const session = createDsqlSession({ host: HOST, credentials: CREDS });
    const probe = session.probeConnectAttempt();
    probe.failed(Object.assign(new Error('Unable to accept connection, too many open connections.'), { code: '53300' }));
    session.probeConnectAttempt().succeeded()!.closed('lifetime');
    const stats = session.stats.snapshot();
    expect(stats.connectAttempts).toEqual({ ok: 1, refused: 1, rate_limited: 0, timeout: 0, error: 0 });
    expect(stats.connectionsClosed).toEqual({ lifetime: 1, idle: 0, server_closed: 0, error: 0, client: 0 });
  });

  test('token signing and credential resolution: names and durations, never the secret or the token', async () => {
    let token = '';
    const provider = async () => ({ ...SESSION_CREDS, expiration: new Date(Date.now() + 3_600_000) });
    const tokens = new TokenProvider({ host: HOST, region: 'us-east-1', user: 'admin', credentials: provider, now: Date.now });
    const messages = await recording(async () => {
      token = await tokens.getToken();
      await tokens.getToken(); // a cache hit publishes nothing
    });
    expect(messages.map((m) => m.channel)).toEqual(['dsql:credentials:resolved', 'dsql:token:signed']);
    expect(messages[0]).toMatchObject({ sourceKind: 'provider', outcome: 'ok', region: 'us-east-1', durationMs: expect.any(Number) });
    expect(messages[1]).toMatchObject({ endpoint: HOST, region: 'us-east-1', user: 'admin', action: 'DbConnectAdmin', outcome: 'ok', tokenDurationSecs: 900 });
    expect(token.length).toBeGreaterThan(100);
    expect(JSON.stringify(messages)).not.toContain(token.slice(token.indexOf('X-Amz-Signature=') + 16));
    assertNoSecret(messages);
  });

  test('a failing credential source publishes error with transient, without the secret', async () => {
    const tokens = new TokenProvider({
      host: HOST,
      region: 'us-east-1',
      credentials: async () => {
        throw Object.assign(new Error(`connect ECONNREFUSED 169.254.169.254 ${CREDS.secretAccessKey}`), { code: 'ECONNREFUSED' });
      },
      now: Date.now,
    });
    const messages = await recording(() => tokens.getToken());
    expect(messages).toEqual([expect.objectContaining({ channel: 'dsql:credentials:resolved', outcome: 'error', transient: true })]);
    assertNoSecret(messages);
  });

  test('a connection attempt: start, rate-limit wait, outcome with reason; the connection closes with its reason', async () => {
    const session = createDsqlSession({ host: HOST, credentials: CREDS, password: 'hunter2' } as never);
    const messages = await recording(async () => {
      const refused = session.probeConnectAttempt();
      refused.waitingForLimiter();
      await new Promise((r) => setTimeout(r, 5));
      refused.admitted();
      refused.failed(pgError('53400', 'Unable to accept connection, rate exceeded.'));
      refused.failed(new Error('reported twice: ignored'));
      const ok = session.probeConnectAttempt();
      ok.waitingForLimiter();
      ok.admitted();
      const connection = ok.succeeded();
      connection!.closed('server_closed');
      connection!.closed('client'); // only the first close counts
    });
    expect(messages.map((m) => [m.channel, m.outcome ?? m.reason])).toEqual([
      ['dsql:connect:start', undefined],
      ['dsql:connect:rate-limit-wait', undefined],
      ['dsql:connect:end', 'rate_limited'],
      ['dsql:connect:start', undefined],
      ['dsql:connect:end', 'ok'],
      ['dsql:connection:closed', 'server_closed'],
    ]);
    expect(messages[2]).toMatchObject({ endpoint: HOST, region: 'us-east-1', port: 5432, user: 'admin', reason: 'rate-limited', sqlstate: '53400', connectionId: undefined });
    expect(messages[1]!.waitMs).toBeGreaterThanOrEqual(1);
    expect(messages[4]).toMatchObject({ outcome: 'ok', connectionId: expect.any(Number), rateLimitWaitMs: expect.any(Number) });
    expect(messages[5]).toMatchObject({ connectionId: messages[4]!.connectionId, ageMs: expect.any(Number) });
    assertNoSecret(messages);
  });

  test('connect outcomes from errors', () => {
    expect(connectOutcome(pgError('53400', 'Unable to accept connection, rate exceeded.')).outcome).toBe('rate_limited');
    expect(connectOutcome(pgError('53300', 'Unable to accept connection, too many open connections.')).outcome).toBe('refused');
    expect(connectOutcome(pgError('08006', 'unable to accept connection, access denied')).outcome).toBe('refused');
    expect(connectOutcome(new Error('unable to accept connection, waking up cluster, please retry later')).outcome).toBe('refused');
    expect(connectOutcome(socketError('ECONNREFUSED')).outcome).toBe('refused');
    expect(connectOutcome(new Error('timeout expired while waiting for the connection rate limiter')).outcome).toBe('timeout');
    expect(connectOutcome(new Error('self-signed certificate')).outcome).toBe('error');
  });

  test('close reasons follow the session lifetime policy', () => {
    const session = createDsqlSession({ host: HOST, credentials: CREDS, maxLifetimeSeconds: [10, 20], idleTimeoutMillis: 1000 });
    expect(session.closeReason({ lost: true, idle: true, ageMs: 50, idleMs: 10 })).toBe('server_closed');
    expect(session.closeReason({ lost: true, idle: false, ageMs: 50, idleMs: 0 })).toBe('error');
    expect(session.closeReason({ lost: false, idle: true, ageMs: 10_000, idleMs: 10 })).toBe('lifetime');
    expect(session.closeReason({ lost: false, idle: true, ageMs: 5000, idleMs: 1000 })).toBe('idle');
    expect(session.closeReason({ lost: false, idle: false, ageMs: 5000, idleMs: 0 })).toBe('client');
  });
});
