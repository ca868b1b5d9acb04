import { jest } from '@jest/globals';
import type { DsqlLocal } from '@dsql/local';
import type { DsqlStats } from '@dsql/core';
import { DSQL_METRICS } from '../src/index.js';
import { ADAPTERS, terminateBackend, withLocal, type Db } from './support/adapters.js';
import { Observed } from './support/otel.js';

// The real OpenTelemetry SDK (in-memory metric reader and span exporter) over @dsql/local, for
// each adapter: the same scenarios must produce exactly the same counts.

jest.setTimeout(60_000);

let local: DsqlLocal;
withLocal((started) => (local = started));

const OCC = { code: '40001', message: 'change conflicts with another transaction, please retry: (OC000)' };
const FAST_RETRY = { maxAttempts: 100, baseDelayMs: 1, maxDelayMs: 20, maxElapsedMs: 50_000 };

/** The non-zero entries of a stats counter map, as a metric's points by attribute list them. */
function nonZero(counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
}

/** Every key path of a stats object (`connections.idle`, `transactions.attempts.committed`, …). */
function keyPaths(o: object): string[] {
  return Object.entries(o)
    .flatMap(([k, v]) => (typeof v === 'object' && v !== null ? keyPaths(v).map((p) => `${k}.${p}`) : [k]))
    .sort();
}

/** Waits (bounded) until every connection a pool opened has been reported closed. */
async function allClosed(db: Db, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = db.stats();
    const closed = Object.values(s.connectionsClosed).reduce((a, b) => a + b, 0);
    if (closed >= s.connectAttempts.ok) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for an ended pool's connections to be reported closed: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** No exported metric attribute, span attribute or event holds the endpoint's secrets or a token. */
async function expectNoSecrets(observed: Observed): Promise<void> {
  const text = await observed.exportedText();
  expect(text).not.toContain(local.credentials.secretAccessKey);
  if (local.credentials.sessionToken) expect(text).not.toContain(local.credentials.sessionToken);
  for (const tokenPart of ['X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token', 'Action=DbConnect']) expect(text).not.toContain(tokenPart);
}

describe.each(ADAPTERS)('$name', (adapter) => {
  const table = `otel_${adapter.name.replace(/\W/g, '_')}`;
  let observed: Observed;
  const opened: Db[] = [];
  const open = (options: Parameters<typeof adapter.open>[1]): Db => {
    const db = adapter.open(local, options);
    opened.push(db);
    return db;
  };

  beforeEach(() => {
    observed = new Observed();
  });
  afterEach(async () => {
    const ended = opened.splice(0);
    await Promise.all(ended.map((db) => db.end().catch(() => undefined)));
    // A pool's end() may resolve before its sockets' close is reported: wait for every close, so
    // none is counted in the next test's metrics.
    await Promise.all(ended.map((db) => allClosed(db)));
    await observed.stop();
  });

  it('transactions: injected OCC conflicts, a lost COMMIT and real contention give exact counts and one span per call', async () => {
    const db = open({ max: 4 });
    await db.query(`CREATE TABLE IF NOT EXISTS ${table} (id int PRIMARY KEY, n int NOT NULL)`);
    await db.query(`DELETE FROM ${table}`);
    await db.query(`INSERT INTO ${table} VALUES (1, 0)`);

    local.inject({ on: 'commit', error: OCC, times: 2 });
    await db.transaction((q) => q(`UPDATE ${table} SET n = n + 1 WHERE id = 1`).then(() => undefined), FAST_RETRY);
    local.inject({ on: 'commit', drop: true });
    const lost = await db.transaction((q) => q(`UPDATE ${table} SET n = n + 1 WHERE id = 1`).then(() => undefined), FAST_RETRY).catch((e: unknown) => e);
    expect(lost).toMatchObject({ code: 'commit-outcome-unknown' });

    expect(await observed.by(DSQL_METRICS.transactionAttempts, 'outcome')).toEqual({ occ_conflict: 2, committed: 1, commit_unknown: 1 });
    expect(await observed.by(DSQL_METRICS.occConflicts)).toEqual({ '*': 2 });
    expect(await observed.by(DSQL_METRICS.commitUnknown)).toEqual({ '*': 1 });
    // The pool has one endpoint: the transaction metrics and spans name it.
    expect(await observed.by(DSQL_METRICS.transactionAttempts, 'endpoint')).toEqual({ [local.host]: 4 });
    expect(await observed.by(DSQL_METRICS.occConflicts, 'region')).toEqual({ [local.region]: 2 });
    const [retried, unknown] = observed.spans('dsql.transaction');
    expect(retried!.attributes).toMatchObject({ 'server.address': local.host, 'cloud.region': local.region });
    expect(observed.spans('dsql.transaction')).toHaveLength(2);
    expect(retried!.events.map((e) => [e.attributes?.['dsql.transaction.attempt'], e.attributes?.['dsql.transaction.outcome']])).toEqual([
      [1, 'occ_conflict'],
      [2, 'occ_conflict'],
      [3, 'committed'],
    ]);
    expect(retried!.attributes).toMatchObject({ 'dsql.transaction.attempts': 3, 'dsql.transaction.outcome': 'committed' });
    expect(retried!.status.code).toBe(0); // UNSET
    expect(unknown!.attributes).toMatchObject({ 'dsql.transaction.attempts': 1, 'dsql.transaction.outcome': 'commit_unknown' });
    expect(unknown!.status.code).toBe(2); // ERROR
    // The connection whose COMMIT answer was lost: closed by the server while in use.
    await observed.until(DSQL_METRICS.connectionClosed, 'reason', (c) => c.error === 1, 'the dropped COMMIT connection to close');

    // Real contention: every conflict the endpoint reported is one occ_conflict attempt.
    const conflictsBefore = local.stats().occConflicts;
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        await db.transaction(async (q) => {
          await q(`SELECT n FROM ${table} WHERE id = 1`);
          await q(`UPDATE ${table} SET n = n + 1 WHERE id = 1`);
        }, FAST_RETRY);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const conflicts = local.stats().occConflicts - conflictsBefore;
    const attempts = await observed.by(DSQL_METRICS.transactionAttempts, 'outcome');
    expect(attempts.committed).toBe(1 + 20);
    expect((attempts.occ_conflict ?? 0) - 2).toBe(conflicts);
    expect(await observed.by(DSQL_METRICS.occConflicts)).toEqual({ '*': 2 + conflicts });
    expect(observed.spans('dsql.transaction')).toHaveLength(2 + 20);

    // stats(): the same numbers as the metrics, counted by core at the same points.
    const stats = db.stats();
    expect(nonZero(stats.transactions.attempts)).toEqual(await observed.by(DSQL_METRICS.transactionAttempts, 'outcome'));
    expect(stats.transactions.occConflicts).toBe(2 + conflicts);
    expect(stats.transactions.commitUnknown).toBe(1);
    expect(stats.transactions.calls).toBe(2 + 20);
    expect(stats.transactions.retries).toBe(2 + conflicts);
    expect(nonZero(stats.connectionsClosed)).toEqual(await observed.by(DSQL_METRICS.connectionClosed, 'reason'));
    expect(nonZero(stats.connectAttempts)).toEqual(await observed.by(DSQL_METRICS.connectAttempts, 'outcome'));
    await expectNoSecrets(observed);
  });

  it('connections: a refused attempt, then one connection; the token signed and credentials resolved once', async () => {
    // A credentials provider of its own: a token provider of its own, so signings start from zero.
    const credentials = async () => ({ ...local.credentials });
    local.inject({ on: 'connect', error: { code: '53300', message: 'Unable to accept connection, too many open connections.' } });
    const db = open({ max: 1, credentials });
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await db.query('SELECT 2 AS two'); // the same connection, no new attempt

    expect(await observed.by(DSQL_METRICS.connectAttempts, 'outcome')).toEqual({ refused: 1, ok: 1 });
    expect(await observed.by(DSQL_METRICS.connectAttempts, 'reason')).toEqual({ 'too-many-connections': 1, '*': 1 });
    expect(await observed.by(DSQL_METRICS.connectionCreateTime)).toEqual({ '*': 1 });
    expect(await observed.by(DSQL_METRICS.tokenSignings, 'outcome')).toEqual({ ok: 1 });
    expect(await observed.by(DSQL_METRICS.credentialResolutions, 'source')).toEqual({ provider: 1 });
    const points = await observed.points();
    for (const p of points.filter((x) => x.name === DSQL_METRICS.connectAttempts)) {
      expect(p.attributes).toMatchObject({ endpoint: local.host, region: local.region });
    }
    const spans = observed.spans('dsql.connect');
    expect(spans.map((s) => s.attributes['dsql.connect.outcome'])).toEqual(['refused', 'ok']);
    expect(spans[0]!.attributes).toMatchObject({ 'dsql.connect.reason': 'too-many-connections', 'db.response.status_code': '53300', 'server.address': local.host });
    expect(spans[0]!.status.code).toBe(2);
    // The phases core measured: dialled (TCP + TLS), then authenticated; the refused attempt got past the dial.
    expect(typeof spans[1]!.attributes['dsql.connect.dial_ms']).toBe('number');
    expect(typeof spans[1]!.attributes['dsql.connect.auth_ms']).toBe('number');
    expect(typeof spans[0]!.attributes['dsql.connect.dial_ms']).toBe('number');
    expect(spans[0]!.attributes['dsql.connect.auth_ms']).toBeUndefined();
    // node-postgres shows the TLS handshake apart from the TCP connect; Postgres.js's dial is one step here.
    if (adapter.name === '@dsql/postgres') expect(spans[1]!.attributes['dsql.connect.tls_ms']).toBeUndefined();
    else expect(typeof spans[1]!.attributes['dsql.connect.tls_ms']).toBe('number');

    // stats() and the metrics: the same attempts, the one token, the one credential resolution.
    const stats = db.stats();
    expect(stats.connectAttempts).toEqual({ ok: 1, refused: 1, rate_limited: 0, timeout: 0, error: 0 });
    // toMatchObject: @dsql/postgres's dsqlStats adds its earlier (deprecated) token counters.
    expect(stats.tokens).toMatchObject({ signed: 1, staleServed: 0, credentialResolutions: 1 });
    expect(stats.connectionsClosed).toEqual({ lifetime: 0, idle: 0, server_closed: 0, error: 0, client: 0 });
    // Postgres.js 4 has a public queue length (sql.stats); 3.4 has none: null, and no pending metric point.
    const pending = adapter.name === '@dsql/postgres' ? stats.connections.pending : 0;
    expect([0, null]).toContain(pending);
    expect(stats.connections).toMatchObject({ open: 1, idle: 1, used: 0, pending });

    // db.client.connection.count reads the same numbers: one idle connection, then one used inside a transaction.
    const poolName = `${local.host}:${local.port}/postgres`;
    expect(await observed.by(DSQL_METRICS.connectionCount, 'db.client.connection.state')).toEqual({ idle: 1, used: 0 });
    for (const p of (await observed.points()).filter((x) => x.name === DSQL_METRICS.connectionCount)) {
      expect(p.attributes).toMatchObject({ 'db.client.connection.pool.name': poolName, endpoint: local.host, region: local.region });
    }
    expect(await observed.by(DSQL_METRICS.connectionPendingRequests)).toEqual(pending === null ? {} : { '*': 0 });
    let inside: DsqlStats['connections'] | undefined;
    let gaugeInside: Record<string, number> | undefined;
    await db.transaction(async (q) => {
      await q('SELECT 1');
      inside = db.stats().connections;
      gaugeInside = await observed.by(DSQL_METRICS.connectionCount, 'db.client.connection.state');
    });
    expect(inside).toMatchObject({ open: 1, idle: 0, used: 1, pending });
    expect(gaugeInside).toEqual({ idle: 0, used: 1 });
    expect(db.stats().connections).toMatchObject({ open: 1, idle: 1, used: 0, pending });
    const [created] = (await observed.points()).filter((x) => x.name === DSQL_METRICS.connectionCreateTime);
    expect(created!.attributes['db.client.connection.pool.name']).toBe(poolName);
    await expectNoSecrets(observed);
  });

  it('closes by reason: a server-closed idle connection, a lifetime recycle, an idle timeout and end()', async () => {
    const serverClosed = open({ max: 1 });
    const [{ pid }] = (await serverClosed.query('SELECT pg_backend_pid() AS pid')) as [{ pid: number }];
    await terminateBackend(local, pid);
    await observed.until(DSQL_METRICS.connectionClosed, 'reason', (c) => c.server_closed === 1, 'the terminated idle connection to close');

    const recycled = open({ max: 1, maxLifetimeSeconds: 1 });
    await recycled.query('SELECT 1');
    await observed.until(DSQL_METRICS.connectionClosed, 'reason', (c) => c.lifetime === 1, 'the connection to reach its 1 s lifetime');

    const idle = open({ max: 1, idleMs: 200 });
    await idle.query('SELECT 1');
    await observed.until(DSQL_METRICS.connectionClosed, 'reason', (c) => c.idle === 1, 'the idle connection to time out');

    const ended = open({ max: 1 });
    await ended.query('SELECT 1');
    await ended.end();
    await allClosed(ended);
    const closes = await observed.until(DSQL_METRICS.connectionClosed, 'reason', (c) => c.client === 1, 'end() to close the connection');
    expect(closes).toEqual({ server_closed: 1, lifetime: 1, idle: 1, client: 1 });
    expect(await observed.by(DSQL_METRICS.connectAttempts, 'outcome')).toEqual({ ok: 4 });
    // Each pool's stats() names its own close (readable after end()), as the metric does.
    expect(serverClosed.stats().connectionsClosed).toMatchObject({ server_closed: 1, lifetime: 0, idle: 0, client: 0 });
    expect(recycled.stats().connectionsClosed).toMatchObject({ server_closed: 0, lifetime: 1, idle: 0, client: 0 });
    expect(idle.stats().connectionsClosed).toMatchObject({ server_closed: 0, lifetime: 0, idle: 1, client: 0 });
    expect(ended.stats().connectionsClosed).toMatchObject({ server_closed: 0, lifetime: 0, idle: 0, client: 1 });
    expect(ended.stats().connections).toMatchObject({ open: 0, used: 0 });
    // An ended pool leaves the connection-count metric.
    expect((await observed.points()).filter((p) => p.name === DSQL_METRICS.connectionCount && p.value !== 0)).toEqual([]);
    await expectNoSecrets(observed);
  });
});

describe('stats() across adapters', () => {
  let observed: Observed;
  afterEach(async () => {
    await observed?.stop();
  });

  it('every adapter reports the same keys, and the same numbers as the metrics for the same workload', async () => {
    const shapes: string[][] = [];
    for (const adapter of ADAPTERS) {
      observed = new Observed();
      const table = `otel_same_${adapter.name.replace(/\W/g, '_')}`;
      const db = adapter.open(local, { max: 2, credentials: async () => ({ ...local.credentials }) });
      try {
        await db.query(`CREATE TABLE IF NOT EXISTS ${table} (id int PRIMARY KEY, n int NOT NULL)`);
        await db.query(`DELETE FROM ${table}`);
        await db.query(`INSERT INTO ${table} VALUES (1, 0)`);
        local.inject({ on: 'commit', error: OCC, times: 1 });
        await db.transaction((q) => q(`UPDATE ${table} SET n = n + 1 WHERE id = 1`).then(() => undefined), FAST_RETRY);
        const stats = db.stats();
        expect({ adapter: adapter.name, attempts: nonZero(stats.transactions.attempts) }).toEqual({ adapter: adapter.name, attempts: await observed.by(DSQL_METRICS.transactionAttempts, 'outcome') });
        expect(nonZero(stats.transactions.attempts)).toEqual({ occ_conflict: 1, committed: 1 });
        expect(nonZero(stats.connectAttempts)).toEqual(await observed.by(DSQL_METRICS.connectAttempts, 'outcome'));
        expect(stats.tokens.signed).toBe((await observed.by(DSQL_METRICS.tokenSignings, 'outcome')).ok);
        expect(stats.tokens.credentialResolutions).toBe((await observed.by(DSQL_METRICS.credentialResolutions))['*']);
        expect(await observed.by(DSQL_METRICS.connectionCount, 'db.client.connection.state')).toEqual({ idle: stats.connections.idle, used: stats.connections.used });
        // @dsql/postgres's dsqlStats keeps its earlier (deprecated) fields beside the shared shape.
        const deprecated = ['connections.opened', 'connections.attempts', 'connections.retried', 'connections.failed', 'tokens.signings', 'tokens.cacheHits', 'tokens.failures'];
        shapes.push(keyPaths(stats).filter((k) => !deprecated.includes(k) && !k.startsWith('rateLimiter')));
      } finally {
        await db.end();
        await observed.stop();
      }
    }
    expect(shapes).toHaveLength(4);
    for (const shape of shapes) expect(shape).toEqual(shapes[0]);
    expect(shapes[0]).toContain('connections.pending');
    expect(shapes[0]).toContain('failovers.failback');
  });
});
