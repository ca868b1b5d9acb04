import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  DSQL_CHANNELS,
  TokenProvider,
  aliasDsqlStats,
  createDsqlSession,
  dsqlPools,
  dsqlStats,
  dsqlStatsRecorderOf,
  registerDsqlPool,
  runManagedTransaction,
  runTransaction,
  unregisterDsqlPool,
  type DsqlLogger,
} from '../src/index.js';
import { EndpointRouter, type RoutedEndpoint } from '../src/failover/endpoint-router.js';
import { DsqlStatsRecorder } from '../src/diagnostics/stats.js';
import { CREDS, HOST, commitFailingDriver as driver, pgError, socketError } from './helpers.js';

// The one stats() shape: counted by core at the points that publish the diagnostics messages, so
// the numbers equal what a subscriber (the OpenTelemetry instrumentation) counts.

const fast = { maxAttempts: 10, baseDelayMs: 1, maxDelayMs: 2 };
const occ = (): Error => pgError('40001', 'change conflicts with another transaction, please retry: (OC000)');

/** Records every message of the given channels while `fn` runs. */
async function counting(fn: () => Promise<unknown>): Promise<Record<string, string[]>> {
  const seen: Record<string, string[]> = {};
  const names = [DSQL_CHANNELS.transactionAttempt, DSQL_CHANNELS.transactionEnd, DSQL_CHANNELS.connectEnd, DSQL_CHANNELS.connectionClosed];
  const listeners = names.map((name) => {
    const listener = (m: unknown): void => void (seen[name] ??= []).push(String((m as { outcome?: string; reason?: string }).outcome ?? (m as { reason: string }).reason));
    subscribe(name, listener);
    return () => unsubscribe(name, listener);
  });
  try {
    await fn().catch(() => undefined);
  } finally {
    listeners.forEach((off) => off());
  }
  return seen;
}

function recordingLogger(): DsqlLogger & { lines: Array<[string, string, Record<string, unknown>]> } {
  const lines: Array<[string, string, Record<string, unknown>]> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push([level, message, fields]);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('DsqlStats', () => {
  it('transactions: attempts by outcome, retries, OCC conflicts and unknown COMMITs equal the published messages', async () => {
    const session = createDsqlSession({ host: HOST, credentials: CREDS });
    const seen = await counting(async () => {
      await runTransaction(driver([occ(), occ()], session.stats), async () => 1, fast);
      await runTransaction(driver([socketError('ECONNRESET')], session.stats), async () => 1, fast).catch(() => undefined);
      let n = 0;
      await runManagedTransaction(
        async ({ commitSent }) => {
          if (++n === 1) throw socketError('ECONNRESET');
          commitSent();
          return 1;
        },
        fast,
        undefined,
        session.stats,
      );
    });
    const { transactions } = session.stats.snapshot();
    expect(transactions).toEqual({
      calls: 3,
      attempts: { committed: 2, occ_conflict: 2, transient: 1, commit_unknown: 1, error: 0 },
      retries: 3,
      occConflicts: 2,
      commitUnknown: 1,
    });
    const published = (seen[DSQL_CHANNELS.transactionAttempt] ?? []).reduce<Record<string, number>>((c, o) => ({ ...c, [o]: (c[o] ?? 0) + 1 }), {});
    expect(published).toEqual({ committed: 2, occ_conflict: 2, transient: 1, commit_unknown: 1 });
    expect(seen[DSQL_CHANNELS.transactionEnd]).toHaveLength(transactions.calls);
  });

  it('counts without subscribers too, and a transaction of another session is not counted', async () => {
    const mine = createDsqlSession({ host: HOST, credentials: CREDS });
    const other = createDsqlSession({ host: HOST, credentials: CREDS });
    await runTransaction(driver([occ()], mine.stats), async () => 1, fast);
    await runTransaction(driver([], other.stats), async () => 1, fast);
    expect(mine.stats.snapshot().transactions.attempts).toMatchObject({ occ_conflict: 1, committed: 1 });
    expect(other.stats.snapshot().transactions.attempts).toMatchObject({ occ_conflict: 0, committed: 1 });
  });

  it('connections: attempts by outcome and closes by reason, as the probe publishes them', async () => {
    const session = createDsqlSession({ host: HOST, credentials: CREDS });
    const seen = await counting(async () => {
      session.probeConnectAttempt().failed(Object.assign(new Error('Unable to accept connection, rate exceeded.'), { code: '53400' }));
      session.probeConnectAttempt().failed(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
      const a = session.probeConnectAttempt().succeeded()!;
      const b = session.probeConnectAttempt().succeeded()!;
      a.closed('server_closed');
      a.closed('error'); // only the first close counts
      b.closed('idle');
    });
    const stats = session.stats.snapshot();
    expect(stats.connectAttempts).toEqual({ ok: 2, refused: 1, rate_limited: 1, timeout: 0, error: 0 });
    expect(stats.connectionsClosed).toEqual({ lifetime: 0, idle: 1, server_closed: 1, error: 0, client: 0 });
    expect([...(seen[DSQL_CHANNELS.connectEnd] ?? [])].sort()).toEqual(['ok', 'ok', 'rate_limited', 'refused']);
    expect([...(seen[DSQL_CHANNELS.connectionClosed] ?? [])].sort()).toEqual(['idle', 'server_closed']);
    expect(stats.connections).toEqual({ open: null, idle: null, used: null, pending: null });
  });

  it('tokens: the signings and credential resolutions of the session endpoints’ providers', async () => {
    // A provider function of its own: a token provider (and credential cache) of its own.
    const session = createDsqlSession({ host: HOST, credentials: async () => ({ ...CREDS }) });
    expect(session.stats.snapshot().tokens).toEqual({ signed: 0, staleServed: 0, credentialResolutions: 0 });
    await session.tokens.getToken();
    await session.tokens.getToken(); // cached
    expect(session.stats.snapshot().tokens).toEqual({ signed: 1, staleServed: 0, credentialResolutions: 1 });
  });

  it('every adapter shape: dsqlStats(owner) of a registered pool, its aliases; the same keys whatever the pool', () => {
    const session = createDsqlSession({ host: HOST, credentials: CREDS, database: 'app' });
    const pool = { total: 3, idle: 1, waiting: 2 };
    registerDsqlPool(pool, session, (p) => ({ open: p.total, idle: p.idle, used: p.total - p.idle, pending: p.waiting }));
    const db = {};
    aliasDsqlStats(db, pool);
    expect(dsqlStats(pool)!.connections).toEqual({ open: 3, idle: 1, used: 2, pending: 2 });
    expect(dsqlStats(db)).toEqual(dsqlStats(pool));
    expect(dsqlStatsRecorderOf(db)).toBe(session.stats);
    expect(dsqlStats({})).toBeUndefined();
    expect(dsqlStats(undefined)).toBeUndefined();

    const bare = {};
    registerDsqlPool(bare, createDsqlSession({ host: HOST, credentials: CREDS }));
    const keys = (o: object): string[] => Object.entries(o).flatMap(([k, v]) => (typeof v === 'object' && v !== null ? keys(v).map((s) => `${k}.${s}`) : [k]));
    expect(keys(dsqlStats(bare)!)).toEqual(keys(dsqlStats(pool)!));
    expect(dsqlStats(bare)!.connections).toEqual({ open: null, idle: null, used: null, pending: null });

    // The connection-count metric's view: live pools by name (host:port/database) until they end.
    const listed = dsqlPools().filter((p) => p.name === `${HOST}:5432/app`);
    expect(listed).toEqual([{ name: `${HOST}:5432/app`, endpoint: HOST, region: 'us-east-1', connections: { open: 3, idle: 1, used: 2, pending: 2 } }]);
    unregisterDsqlPool(pool);
    expect(dsqlPools().filter((p) => p.name === `${HOST}:5432/app`)).toEqual([]);
    expect(dsqlStats(pool)).toBeDefined(); // still readable after the pool ended
  });

  it('a pool whose counters throw reports unknown counts instead of failing stats()', () => {
    const session = createDsqlSession({ host: HOST, credentials: CREDS });
    const pool = {};
    registerDsqlPool(pool, session, () => {
      throw new Error('ended');
    });
    expect(dsqlStats(pool)!.connections).toEqual({ open: null, idle: null, used: null, pending: null });
    unregisterDsqlPool(pool);
  });
});

describe('connect phases and the transaction endpoint in the messages', () => {
  it('dial (TCP + TLS), TLS alone and authentication are published with the attempt’s end', async () => {
    const session = createDsqlSession({ host: HOST, credentials: CREDS });
    const ends: Array<Record<string, unknown>> = [];
    const listener = (m: unknown): void => void ends.push(m as Record<string, unknown>);
    subscribe(DSQL_CHANNELS.connectEnd, listener);
    try {
      const ok = session.probeConnectAttempt();
      ok.waitingForLimiter();
      ok.admitted();
      ok.tcpConnected();
      ok.dialed();
      ok.succeeded();
      const refusedAtAuth = session.probeConnectAttempt();
      refusedAtAuth.dialed();
      refusedAtAuth.failed(Object.assign(new Error('unable to accept connection, access denied'), { code: '08006' }));
      session.probeConnectAttempt().failed(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    } finally {
      unsubscribe(DSQL_CHANNELS.connectEnd, listener);
    }
    const [ok, atAuth, beforeDial] = ends;
    for (const field of ['dialMs', 'tlsMs', 'authMs']) expect(typeof ok![field]).toBe('number');
    expect(ok).toMatchObject({ database: 'postgres', outcome: 'ok' });
    expect(typeof atAuth!.dialMs).toBe('number');
    expect(atAuth).toMatchObject({ tlsMs: undefined, authMs: undefined });
    expect(beforeDial).toMatchObject({ dialMs: undefined, tlsMs: undefined, authMs: undefined, outcome: 'refused' });
  });

  it('transaction messages name the endpoint of a single-endpoint session, none for several endpoints', async () => {
    const single = createDsqlSession({ host: HOST, credentials: CREDS });
    const multi = createDsqlSession({ endpoints: [HOST, 'bbbbbbbbbbbbbbbbbbbbbbbbbb.dsql.us-east-2.on.aws'], credentials: CREDS });
    const attempts: Array<Record<string, unknown>> = [];
    const listener = (m: unknown): void => void attempts.push(m as Record<string, unknown>);
    subscribe(DSQL_CHANNELS.transactionAttempt, listener);
    try {
      await runTransaction(driver([], single.stats), async () => 1, fast);
      await runTransaction(driver([], multi.stats), async () => 1, fast);
    } finally {
      unsubscribe(DSQL_CHANNELS.transactionAttempt, listener);
      multi.router.close();
    }
    expect(attempts[0]).toMatchObject({ endpoint: HOST, region: 'us-east-1', outcome: 'committed' });
    expect(attempts[1]!.endpoint).toBeUndefined();
  });
});

interface Fake extends RoutedEndpoint {
  name: string;
}

describe('failover counters and log lines', () => {
  it('counts failovers, failbacks and endpoints marked unhealthy, and logs the switches', async () => {
    const endpoints: Fake[] = ['east1', 'east2'].map((name, index) => ({ name, ref: { endpoint: `${name}.example`, region: name, port: 5432, index } }));
    const stats = new DsqlStatsRecorder();
    const logger = recordingLogger();
    const router = new EndpointRouter(endpoints, { probe: { baseDelayMs: 20, maxDelayMs: 80, timeoutMs: 200, intervalMs: 3_600_000 }, selection: 'ordered', stats, logger });
    let up = false;
    router.useProbe(async () => {
      if (!up) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    });
    try {
      router.attempt().failed(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
      expect(stats.snapshot().failovers).toMatchObject({ failover: 1, failback: 0 });
      up = true;
      const deadline = Date.now() + 10_000;
      while (stats.snapshot().failovers.failback === 0) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the failback');
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      router.close();
    }
    const { failovers } = stats.snapshot();
    expect(failovers.failover).toBe(1);
    expect(failovers.failback).toBe(1);
    expect(failovers.endpointsUnhealthy).toBeGreaterThanOrEqual(1);
    const switches = logger.lines.filter(([, , f]) => (f.dsql as { direction?: string }).direction !== undefined);
    expect(switches.map(([level, , f]) => [level, (f.dsql as { direction: string }).direction])).toEqual([
      ['warn', 'failover'],
      ['info', 'failback'],
    ]);
    expect(switches[0]![1]).toContain('east2.example');
  });
});

describe('a session routes its logger and counters to failover', () => {
  it('createDsqlSession({ endpoints, logger }): a failover is logged and counted in session.stats', () => {
    const logger = recordingLogger();
    const session = createDsqlSession({ endpoints: [HOST, 'bbbbbbbbbbbbbbbbbbbbbbbbbb.dsql.us-east-2.on.aws'], credentials: CREDS, logger });
    try {
      session.router.attempt().failed(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
      expect(session.stats.snapshot().failovers).toEqual({ failover: 1, failback: 0, endpointsUnhealthy: 1 });
      const [line] = logger.lines.filter(([, message]) => message.startsWith('DSQL failover'));
      expect(line![0]).toBe('warn');
      expect(line![2].dsql).toMatchObject({ direction: 'failover', fromRegion: 'us-east-1', toRegion: 'us-east-2' });
    } finally {
      session.router.close();
    }
  });
});

describe('stale tokens: counted as published, logged once per decision', () => {
  it('a token served past its refresh point while the source fails: stats, the metric channel and the logger agree', async () => {
    let now = Date.UTC(2026, 0, 1);
    let down = false;
    const credentials = async () => {
      if (down) throw Object.assign(new Error('connect ECONNREFUSED 169.254.170.2:80'), { code: 'ECONNREFUSED' });
      return { ...CREDS, expiration: new Date(now + 10 * 60_000) };
    };
    const tp = new TokenProvider({ host: HOST, region: 'us-east-1', credentials, now: () => now });
    const logger = recordingLogger();
    tp.logTo(logger);
    tp.logTo(logger); // once per logger
    await tp.getToken();
    now += 9 * 60_000; // past the refresh point, token still valid
    down = true;
    let published = 0;
    const listener = (): void => void published++;
    subscribe(DSQL_CHANNELS.tokenStaleServed, listener);
    try {
      for (let i = 0; i < 5; i++) await tp.getToken();
    } finally {
      unsubscribe(DSQL_CHANNELS.tokenStaleServed, listener);
    }
    expect(tp.stats().staleServed).toBe(5);
    expect(published).toBe(5);
    const warnings = logger.lines.filter(([level]) => level === 'warn');
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThan(5); // per decision to keep the token, not per connection
    expect(warnings[0]![1]).toContain('credential source failing');
    expect(JSON.stringify(logger.lines)).not.toContain(CREDS.secretAccessKey);
  });
});
