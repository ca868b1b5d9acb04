import { jest } from '@jest/globals';
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { DSQL_METRICS } from '../src/index.js';
import { ADAPTERS, terminateBackend, type Db } from './support/adapters.js';
import { Observed } from './support/otel.js';

// The real OpenTelemetry SDK (in-memory metric reader and span exporter) over @dsql/local, for
// each adapter: the same scenarios must produce exactly the same counts.

jest.setTimeout(60_000);

let local: DsqlLocal;
beforeAll(async () => {
  local = await startDsqlLocal();
}, 60_000);
afterAll(async () => {
  await local?.stop();
});

const OCC = { code: '40001', message: 'change conflicts with another transaction, please retry: (OC000)' };
const FAST_RETRY = { maxAttempts: 100, baseDelayMs: 1, maxDelayMs: 20, maxElapsedMs: 50_000 };

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
    await Promise.all(opened.splice(0).map((db) => db.end().catch(() => undefined)));
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
    const [retried, unknown] = observed.spans('dsql.transaction');
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
    const closes = await observed.until(DSQL_METRICS.connectionClosed, 'reason', (c) => c.client === 1, 'end() to close the connection');
    expect(closes).toEqual({ server_closed: 1, lifetime: 1, idle: 1, client: 1 });
    expect(await observed.by(DSQL_METRICS.connectAttempts, 'outcome')).toEqual({ ok: 4 });
    await expectNoSecrets(observed);
  });
});
