import { fileURLToPath } from 'node:url';
import { runScript, scenarioEnv, warningCount, type ScriptRun } from '../../../scripts/child-scenario/run.mjs';
import { startDsqlLocal, type DsqlLocal } from './support/local.js';

// Issue 14: drizzle({ connection }) creates its DsqlPool itself, so nobody can attach an 'error'
// listener to it; a connection the server closes must still not end the process. The scenarios
// (scripts/child-scenario/connection-loss.mjs) run in a child `node` process, whose exit code and
// output are the evidence (plain pg.Pool crashing in the same scenarios: @dsql/pg's test).

let local: DsqlLocal;
let run: ScriptRun;

beforeAll(async () => {
  local = await startDsqlLocal();
  run = await runScript(fileURLToPath(new URL('./scenarios/node-postgres.ts', import.meta.url)), { env: scenarioEnv(local), timeoutMs: 90_000 });
}, 150_000);

afterAll(async () => {
  await local?.stop();
});

const LOST = /Connection terminated unexpectedly|terminating connection|ECONNRESET/;

/** Drizzle wraps driver errors (DrizzleQueryError "Failed query: …"): the driver's error is the cause. */
function driverMessage(outcome: unknown): string {
  const { error } = outcome as { error: { name: string; message: string; cause?: string } };
  expect(error.message).toMatch(/^Failed query: /);
  return error.cause ?? '';
}

describe('drizzle({ connection }) (node-postgres) with no error listener, in a child process', () => {
  it('survives every scenario, exits 0 and warns once (DSQL_CONNECTION_LOST)', () => {
    expect({ code: run.code, done: run.done, stderr: run.stderr }).toMatchObject({ code: 0, done: true });
    expect(warningCount(run.stderr, 'DSQL_CONNECTION_LOST')).toBe(1);
    expect(run.stderr).toMatch(/DsqlWarning: A DsqlPool connection was closed/);
  });

  it("idle close at the endpoint's connection age: the next query opens a new connection", () => {
    expect(run.results['idle-age']).toMatchObject({ first: { value: 1 }, next: { value: 2 }, again: { value: 2 } });
  });

  it('idle close by pg_terminate_backend: the next query opens a new connection', () => {
    expect(run.results['idle-terminate']).toMatchObject({ terminated: true, next: { value: 2 }, again: { value: 2 } });
  });

  it('mid-query: the query rejects with the connection error, the next one works', () => {
    const r = run.results['mid-query']!;
    expect(driverMessage(r.first)).toMatch(LOST);
    expect(r).toMatchObject({ next: { value: 2 }, again: { value: 2 } });
  });

  it('transaction(db, fn) from @dsql/drizzle: lost before COMMIT is retried on a new connection and succeeds', () => {
    expect(run.results['tx-before-commit']).toMatchObject({ first: { value: 3 }, runs: 2, next: { value: 2 } });
  });

  it('transaction(db, fn) from @dsql/drizzle: lost with COMMIT in flight is CommitOutcomeUnknownError, not retried', () => {
    expect(run.results['tx-commit-in-flight']).toMatchObject({
      first: { error: { name: 'CommitOutcomeUnknownError', code: 'commit-outcome-unknown' } },
      runs: 1,
      next: { value: 2 },
    });
  });

  it('endpoint stopped while idle: no crash, the next query fails with the refused connect', () => {
    const r = run.results['idle-stop']!;
    expect(r.first).toEqual({ value: 1 });
    expect(driverMessage(r.next)).toMatch(/ECONNREFUSED 127\.0\.0\.1:\d+/);
  });
});
