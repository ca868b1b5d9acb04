import { fileURLToPath } from 'node:url';
import type { DsqlLocal } from '@dsql/local';
import { runScript, scenarioEnv, warningCount, type ScriptRun } from '../../../scripts/child-scenario/run.mjs';
import { startLocal } from './support/local.js';

// Issue 14: a connection the server closes must never end the process, even with no 'error'
// listener anywhere. Each adapter runs the scenarios of scripts/child-scenario/connection-loss.mjs
// in a child `node` process (jest's own handlers would hide a crash in-process); the child's exit
// code and output are the evidence.

let local: DsqlLocal;

const script = (name: string): string => fileURLToPath(new URL(`./scenarios/${name}`, import.meta.url));

beforeAll(async () => {
  local = await startLocal();
}, 60_000);

afterAll(async () => {
  await local?.stop();
});

const LOST = /Connection terminated unexpectedly|terminating connection|ECONNRESET/;

describe('plain pg.Pool (control): the same scenario takes the process down', () => {
  it('an idle connection closed by pg_terminate_backend is an uncaught error', async () => {
    const run = await runScript(script('plain-pg-pool.ts'), { env: scenarioEnv(local, ['idle-terminate']), timeoutMs: 60_000 });
    expect(run.code).not.toBe(0);
    expect(run.done).toBe(false);
    expect(run.stderr).toMatch(/Emitted 'error' event on (?:Bound)?Pool instance/);
    expect(run.stderr).toMatch(/terminating connection due to administrator command/);
  }, 90_000);

  it("an idle connection closed at the endpoint's connection age is an uncaught error", async () => {
    const run = await runScript(script('plain-pg-pool.ts'), { env: scenarioEnv(local, ['idle-age']), timeoutMs: 60_000 });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Connection terminated unexpectedly/);
    expect(run.stderr).toMatch(/Emitted 'error' event on (?:Bound)?Pool instance/);
  }, 90_000);
});

describe('DsqlPool with no error listener (child process)', () => {
  let run: ScriptRun;
  beforeAll(async () => {
    run = await runScript(script('pool.ts'), { env: scenarioEnv(local), timeoutMs: 90_000 });
  }, 120_000);

  it('survives every scenario, exits 0 and warns once (DSQL_CONNECTION_LOST)', () => {
    expect({ code: run.code, done: run.done, stderr: run.stderr }).toMatchObject({ code: 0, done: true });
    expect(warningCount(run.stderr, 'DSQL_CONNECTION_LOST')).toBe(1);
    expect(run.stderr).toMatch(/DsqlWarning: A DsqlPool connection was closed \(.+\) and no 'error' listener was attached/);
    expect(run.stderr).not.toMatch(/X-Amz-|Signature=/);
  });

  it("idle close at the endpoint's connection age: the next query opens a new connection", () => {
    expect(run.results['idle-age']).toMatchObject({ first: { value: 1 }, next: { value: 2 }, again: { value: 2 } });
    expect(run.results['idle-age']!.closedForAge).toBeGreaterThan(0);
  });

  it('idle close by pg_terminate_backend: the next query opens a new connection', () => {
    expect(run.results['idle-terminate']).toMatchObject({ terminated: true, next: { value: 2 }, again: { value: 2 } });
  });

  it('mid-query: the query rejects with the connection error, the next one works', () => {
    const r = run.results['mid-query']!;
    expect((r.first as { error: { message: string } }).error.message).toMatch(LOST);
    expect(r).toMatchObject({ next: { value: 2 }, again: { value: 2 } });
  });

  it('transaction(): lost before COMMIT is retried on a new connection and succeeds', () => {
    expect(run.results['tx-before-commit']).toMatchObject({ first: { value: 3 }, runs: 2, next: { value: 2 } });
  });

  it('transaction(): lost with COMMIT in flight is CommitOutcomeUnknownError, not retried', () => {
    expect(run.results['tx-commit-in-flight']).toMatchObject({
      first: { error: { name: 'CommitOutcomeUnknownError', code: 'commit-outcome-unknown' } },
      runs: 1,
      next: { value: 2 },
    });
  });

  it('endpoint stopped while idle: no crash, the next query fails with the refused connect (after retrying within connectionTimeoutMillis)', () => {
    const r = run.results['idle-stop']!;
    expect(r.first).toEqual({ value: 1 });
    expect(r.next).toMatchObject({ error: { code: 'ECONNREFUSED' } });
    expect((r.next as { error: { message: string } }).error.message).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:\d+/);
    // connectionTimeoutMillis: 2000. A refused connect answers at once, so taking this long shows
    // that it was retried; the jittered backoff stops before a sleep would pass the deadline, which
    // can be anywhere from about 0.8 s to 2 s (a bound of 1.5 s failed at random).
    expect(r.nextMs).toBeGreaterThanOrEqual(500);
    expect(r.nextMs).toBeLessThan(2_000 + 5_000);
  });
});

describe('DsqlClient with no error listener (child process)', () => {
  let run: ScriptRun;
  beforeAll(async () => {
    run = await runScript(script('client.ts'), { env: scenarioEnv(local), timeoutMs: 90_000 });
  }, 120_000);

  /** A standalone client cannot reconnect: each later call says the connection is gone, a new client works. */
  const GONE = {
    next: { error: { name: 'DsqlConnectionLostError', code: 'connection-lost' } },
    again: { error: { name: 'DsqlConnectionLostError', code: 'connection-lost' } },
    fresh: { value: 5 },
  };

  it('survives every scenario, exits 0 and warns once (DSQL_CONNECTION_LOST)', () => {
    expect({ code: run.code, done: run.done, stderr: run.stderr }).toMatchObject({ code: 0, done: true });
    expect(warningCount(run.stderr, 'DSQL_CONNECTION_LOST')).toBe(1);
    expect(run.stderr).toMatch(/DsqlWarning: A DsqlClient connection was closed \(.+\) and no 'error' listener was attached/);
  });

  it("idle close at the endpoint's connection age: later calls say the connection is gone", () => {
    const r = run.results['idle-age']!;
    expect(r).toMatchObject({ first: { value: 1 }, ...GONE });
    const message = (r.next as { error: { message: string; cause: string } }).error;
    expect(message.message).toMatch(/^Connection lost: this client's connection was closed earlier \(Connection terminated unexpectedly\)/);
    expect(message.cause).toMatch(/Connection terminated unexpectedly/);
  });

  it('idle close by pg_terminate_backend: later calls say the connection is gone', () => {
    const r = run.results['idle-terminate']!;
    expect(r).toMatchObject({ terminated: true, ...GONE });
    expect((r.next as { error: { message: string } }).error.message).toMatch(/terminating connection due to administrator command/);
  });

  it('mid-query: the pending query rejects with the connection error, later ones say the connection is gone', () => {
    const r = run.results['mid-query']!;
    expect((r.first as { error: { message: string } }).error.message).toMatch(LOST);
    expect(r).toMatchObject(GONE);
  });

  it('transaction(): lost before COMMIT rejects with the connection error (a standalone client cannot retry on another connection)', () => {
    const r = run.results['tx-before-commit']!;
    expect((r.first as { error: { message: string } }).error.message).toMatch(LOST);
    expect(r).toMatchObject({ runs: 1, ...GONE });
  });

  it('transaction(): lost with COMMIT in flight is CommitOutcomeUnknownError', () => {
    expect(run.results['tx-commit-in-flight']).toMatchObject({
      first: { error: { name: 'CommitOutcomeUnknownError', code: 'commit-outcome-unknown' } },
      runs: 1,
      ...GONE,
    });
  });

  it('endpoint stopped while idle: no crash, the next call says the connection is gone', () => {
    expect(run.results['idle-stop']).toMatchObject({ first: { value: 1 }, next: GONE.next });
  });
});
