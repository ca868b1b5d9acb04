// Child side: the connection-loss scenarios of issue 14, run against one adapter with NO 'error'
// listener anywhere. Each scenario starts its own @dsql/local proxy over the upstream PostgreSQL
// the parent test started (cheap: no second database), prints one `RESULT {json}` line, and the
// run ends with `DONE`. The parent asserts on the results and on the exit code: if a scenario
// lets an error event escape, the process dies and `DONE` never comes.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDsqlLocal } from '@dsql/local';

export const CONNECTION_LOSS_SCENARIOS = ['idle-age', 'idle-terminate', 'mid-query', 'tx-before-commit', 'tx-commit-in-flight', 'idle-stop'];

/** The environment the parent passes (`scenarioEnv` of run.mjs). */
function fromEnv() {
  const upstream = process.env.DSQL_SCENARIO_UPSTREAM;
  const credentials = process.env.DSQL_SCENARIO_CREDENTIALS;
  if (!upstream || !credentials) throw new Error('DSQL_SCENARIO_UPSTREAM and DSQL_SCENARIO_CREDENTIALS must be set');
  const only = process.env.DSQL_SCENARIOS ? process.env.DSQL_SCENARIOS.split(',') : CONNECTION_LOSS_SCENARIOS;
  return { upstream, credentials: JSON.parse(credentials), only };
}

function describe(err) {
  const e = err ?? {};
  return { name: e.name, code: e.code, message: String(e.message ?? e), cause: e.cause ? String(e.cause.message ?? e.cause) : undefined };
}

async function attempt(fn) {
  try {
    return { value: await fn() };
  } catch (err) {
    return { error: describe(err) };
  }
}

async function until(check, ms) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(50);
  }
}

/** `select <n> as n` plus a marker the proxy's faults match on. */
const select = (n, marker = 'plain') => `select ${n} as n, '${marker}' as marker`;

const SCENARIOS = {
  // DSQL's connection age: the server closes the idle connection on its own schedule, before the
  // client-side lifetime (3600 s) is up.
  'idle-age': async ({ proxy, open }) => {
    const p = await proxy({ maxConnectionAgeSeconds: 2 });
    const db = await open(p);
    const first = await attempt(() => db.value(select(1)));
    const before = p.stats().closedForAge;
    await until(() => p.stats().closedForAge > before, 10_000);
    await sleep(200);
    return { first, ...(await after(db, open, p)), closedForAge: p.stats().closedForAge - before };
  },
  // An administrator (or a DSQL component replacement) ends the session: FATAL 57P01, then the close.
  'idle-terminate': async ({ proxy, open, upstream, pg }) => {
    const p = await proxy();
    const db = await open(p);
    const first = await attempt(() => db.value('select pg_backend_pid() as n'));
    const admin = new pg.Client({ connectionString: upstream });
    await admin.connect();
    const terminated = (await admin.query('select pg_terminate_backend($1) as ok', [first.value])).rows[0].ok;
    await admin.end();
    await sleep(300);
    return { first: { value: typeof first.value }, terminated, ...(await after(db, open, p)) };
  },
  // The connection dies while a statement is in flight.
  'mid-query': async ({ proxy, open }) => {
    const p = await proxy();
    const db = await open(p);
    await db.value(select(0));
    p.inject({ on: 'query', drop: true, match: 'mid_query_drop' });
    const first = await attempt(() => db.value(select(1, 'mid_query_drop')));
    await sleep(100);
    return { first, ...(await after(db, open, p)) };
  },
  // Inside transaction(): lost before COMMIT was sent (safe to retry on a new connection).
  'tx-before-commit': async ({ proxy, open }) => {
    const p = await proxy();
    const db = await open(p);
    p.inject({ on: 'query', drop: true, match: 'tx_drop' });
    let runs = 0;
    const first = await attempt(() =>
      db.transaction(async (value) => {
        runs++;
        return value(select(3, 'tx_drop'));
      }),
    );
    await sleep(100);
    return { first, runs, ...(await after(db, open, p)) };
  },
  // Inside transaction(): lost with COMMIT in flight (outcome unknown, never retried).
  'tx-commit-in-flight': async ({ proxy, open }) => {
    const p = await proxy();
    const db = await open(p);
    p.inject({ on: 'commit', drop: true });
    let runs = 0;
    const first = await attempt(() =>
      db.transaction(async (value) => {
        runs++;
        return value(select(4));
      }),
    );
    await sleep(100);
    return { first, runs, ...(await after(db, open, p)) };
  },
  // The endpoint goes away while the connection is idle; nothing listens on the port any more.
  'idle-stop': async ({ proxy, open }) => {
    const p = await proxy();
    const db = await open(p);
    const first = await attempt(() => db.value(select(1)));
    await p.stop();
    await sleep(300);
    const started = Date.now();
    const next = await attempt(() => db.value(select(2)));
    return { first, next, nextMs: Date.now() - started };
  },
};

/** The next statement on the same database object, and on a freshly opened one. */
async function after(db, open, p) {
  const next = await attempt(() => db.value(select(2)));
  const again = await attempt(() => db.value(select(2)));
  const fresh = await open(p);
  const freshNext = await attempt(() => fresh.value(select(5)));
  await fresh.close();
  return { next, again, fresh: freshNext };
}

/**
 * Runs the scenarios (all, or those named in `DSQL_SCENARIOS`) against `adapter` and prints
 * their results. Connection options given to `adapter.open` are @dsql/local's
 * `connectionOptions()` plus `maxLifetimeSeconds: 3600` and `connectionTimeoutMillis: 2000`.
 */
export async function runConnectionLossScenarios(adapter) {
  const { upstream, credentials, only } = fromEnv();
  const pg = createRequire(pathToFileURL(process.argv[1]))('pg');
  for (const name of only) {
    const proxies = [];
    const dbs = [];
    const proxy = async (options = {}) => {
      const p = await startDsqlLocal({ upstream, credentials, ...options });
      proxies.push(p);
      return p;
    };
    const open = async (p) => {
      const db = await adapter.open({ ...p.connectionOptions(), maxLifetimeSeconds: 3600, connectionTimeoutMillis: 2000 });
      dbs.push(db);
      return db;
    };
    const result = await SCENARIOS[name]({ proxy, open, upstream, pg });
    console.log(`RESULT ${JSON.stringify({ scenario: name, ...result })}`);
    for (const db of dbs) await db.close().catch(() => undefined);
    for (const p of proxies) await p.stop();
  }
  await sleep(200); // a late event after the last scenario would still end the process before DONE
  console.log('DONE');
}
