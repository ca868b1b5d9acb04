#!/usr/bin/env node
// `pnpm demo`: the whole library on a laptop, no AWS account. Starts a local Aurora DSQL endpoint
// (@dsql/local: TLS, IAM-token auth, DSQL's SQL rules and OCC, in front of an embedded
// PostgreSQL 16), runs every example app against it, prints what each did, stops everything.
// The root script builds the examples (and the packages they use) first.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = (path) => {
  const file = join(root, path);
  if (!existsSync(file)) throw new Error(`${path} is missing: run \`pnpm demo\` from the repository root (it builds first)`);
  return import(pathToFileURL(file).href);
};

const examples = [
  { dir: 'pg', title: 'node-postgres — @dsql/pg' },
  { dir: 'postgres', title: 'Postgres.js — @dsql/postgres' },
  { dir: 'kysely', title: 'Kysely — @dsql/kysely (Migrator)' },
  { dir: 'drizzle', title: 'Drizzle — @dsql/drizzle (drizzle-kit migrations)' },
];

/** Faults injected into @dsql/local, and what @dsql/pg makes of them (one line each). */
async function whenThingsGoWrong(local) {
  const { DsqlPool, isCommitOutcomeUnknownError, isDsqlError } = await built('packages/pg/dist/index.js');
  console.log('When things go wrong  (@dsql/pg, faults injected into @dsql/local)');
  const say = (line) => console.log(`  ${line}`);
  const first = (text) => String(text).split('. ')[0];

  const pool = new DsqlPool({ ...local.connectionOptions(), max: 1 });
  // pg's 'error' event for a connection that dies (without a listener: one process warning, no crash).
  const closed = [];
  pool.on('error', (err) => closed.push(err.message));
  try {
    local.inject({ on: 'connect', error: { code: '08006', message: 'unable to accept connection, waking up cluster, please retry later' } });
    await pool.query('SELECT 1');
    say('connection refused with "waking up cluster, please retry later" → retried; the query succeeded');

    local.inject({ on: 'commit', drop: true });
    const lost = await pool.transaction((tx) => tx.query('SELECT 1')).then(() => undefined, (err) => err);
    if (!isCommitOutcomeUnknownError(lost)) throw new Error(`expected CommitOutcomeUnknownError, got ${lost}`);
    say('connection lost with COMMIT in flight → CommitOutcomeUnknownError, never retried (it may have committed)');
    if (closed.length) say(`the lost connection reached pool.on('error') ("${closed[0]}"), left the pool, and the process went on`);
  } finally {
    await pool.end();
  }

  const stranger = new DsqlPool({
    ...local.connectionOptions(),
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  });
  const denied = await stranger.query('SELECT 1').then(() => undefined, (err) => err);
  await stranger.end();
  if (denied?.code !== '08006') throw new Error(`expected access denied, got ${denied}`);
  say(`credentials the cluster does not know → 08006 access denied, with the next step: ${String(denied.dsql?.hint).split(' Server hint:')[0]}`);

  try {
    new DsqlPool({ ...local.connectionOptions(), region: 'eu-west-1' });
    throw new Error('expected a configuration error');
  } catch (err) {
    if (!isDsqlError(err, 'invalid-config')) throw err;
    say(`a region contradicting the endpoint → refused before connecting: ${first(err.message)}`);
  }
  await regionFailover(say);
  console.log('');
}

/**
 * Multi-Region failover on a local two-Region cluster (@dsql/local's startDsqlLocalCluster: one
 * endpoint per Region over one PostgreSQL, as peered clusters share data): the preferred Region is
 * isolated, a transaction commits through the other, the Region heals, new connections fail back.
 */
async function regionFailover(say) {
  const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
  const { startDsqlLocalCluster } = await built('packages/local/dist/index.js');
  const { DsqlPool } = await built('packages/pg/dist/index.js');
  const { DSQL_FAILOVER_CHANNELS } = await built('packages/core/dist/index.js');
  const events = [];
  const listeners = [DSQL_FAILOVER_CHANNELS.failover, DSQL_FAILOVER_CHANNELS.failback].map((name) => {
    const fn = (m) => events.push({ name, ...m });
    subscribe(name, fn);
    return () => unsubscribe(name, fn);
  });
  const cluster = await startDsqlLocalCluster({ regions: ['us-east-1', 'us-east-2'] });
  const pool = new DsqlPool({
    endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
    // Quick probes for the demo (defaults: 1 s backoff, 30 s health checks); close us-east-2's connections at failback.
    endpointProbe: { baseDelayMs: 100, maxDelayMs: 400, timeoutMs: 2000, drainAfterFailbackMs: 0 },
    max: 2,
  });
  pool.on('error', () => {}); // the isolated Region's connections are reset; the pool replaces them
  try {
    await pool.query('CREATE TABLE failover_demo (id int PRIMARY KEY, note text)');
    const authenticated = (region) => cluster.stats()[region].authenticated;
    say(`multi-Region: two local Regional endpoints; the pool prefers us-east-1 (${authenticated('us-east-1')} connection there)`);

    cluster.isolate('us-east-1', { mode: 'drop' });
    const t = performance.now();
    const east2 = authenticated('us-east-2');
    let attempts = 0;
    await pool.transaction(async (tx) => {
      attempts++;
      await tx.query("INSERT INTO failover_demo VALUES (1, 'written during the outage')");
    });
    const failover = events.find((e) => e.name === DSQL_FAILOVER_CHANNELS.failover);
    if (!failover || authenticated('us-east-2') <= east2) throw new Error('expected the transaction to fail over to us-east-2');
    say(`us-east-1 isolated (connections reset) → dsql:endpoint:failover ${failover.from.region} → ${failover.to.region} (${failover.reason}); the transaction committed through us-east-2 in ${attempts} attempt(s), ${seconds(t)}`);

    cluster.heal('us-east-1');
    const healed = performance.now();
    for (const deadline = Date.now() + 15_000; !events.some((e) => e.name === DSQL_FAILOVER_CHANNELS.failback); ) {
      if (Date.now() > deadline) throw new Error('no failback within 15 s of heal');
      await new Promise((r) => setTimeout(r, 20));
    }
    // drainAfterFailbackMs: 0 — us-east-2's idle connection is closed at failback, not at the end of its lifetime.
    for (const deadline = Date.now() + 15_000; cluster.stats()['us-east-2'].openConnections > 0; ) {
      if (Date.now() > deadline) throw new Error("us-east-2's connections still open 15 s after failback");
      await new Promise((r) => setTimeout(r, 20));
    }
    const east1 = authenticated('us-east-1');
    const { rows } = await pool.query('SELECT note FROM failover_demo WHERE id = 1');
    if (authenticated('us-east-1') <= east1) throw new Error('expected the read to go to us-east-1 after failback');
    say(`healed → the background probe restored us-east-1 (dsql:endpoint:failback after ${seconds(healed)}), us-east-2's connection closed (endpointProbe.drainAfterFailbackMs: 0); read back through us-east-1: "${rows[0]?.note}"`);
  } finally {
    await pool.end();
    listeners.forEach((off) => off());
    await withDeadline(cluster.stop(), 30_000);
  }
}

/**
 * Counts what the connector did, from @dsql/core's diagnostics channels (node:diagnostics_channel):
 * the same events @dsql/opentelemetry's DsqlInstrumentation turns into metrics, tallied here without
 * OpenTelemetry to keep the demo's dependencies light. Returns the summary lines and an unsubscribe.
 */
async function tallyDiagnostics() {
  const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
  const { DSQL_CHANNELS } = await built('packages/core/dist/index.js');
  const counts = {};
  const add = (metric, key) => {
    const m = (counts[metric] ??= {});
    m[key] = (m[key] ?? 0) + 1;
  };
  const listeners = [
    [DSQL_CHANNELS.connectEnd, (m) => add('connect', m.outcome === 'ok' ? 'ok' : `${m.outcome} (${m.reason ?? m.sqlstate ?? 'unknown'})`)],
    [DSQL_CHANNELS.connectRateLimitWait, () => add('rateLimitWaits', 'waited')],
    [DSQL_CHANNELS.tokenSigned, (m) => add('tokens', m.outcome)],
    [DSQL_CHANNELS.credentialsResolved, (m) => add('credentials', `${m.sourceKind} ${m.outcome}`)],
    [DSQL_CHANNELS.transactionAttempt, (m) => add('attempts', m.outcome)],
    [DSQL_CHANNELS.transactionEnd, (m) => add('transactions', m.outcome)],
    [DSQL_CHANNELS.connectionClosed, (m) => add('closed', m.reason)],
  ];
  for (const [name, listener] of listeners) subscribe(name, listener);
  const list = (metric) => {
    const entries = Object.entries(counts[metric] ?? {}).sort((a, b) => b[1] - a[1]);
    return entries.length ? entries.map(([k, n]) => `${n} ${k}`).join(', ') : 'none';
  };
  const total = (metric) => Object.values(counts[metric] ?? {}).reduce((a, b) => a + b, 0);
  return {
    lines: () => [
      `connection attempts: ${list('connect')}${total('rateLimitWaits') ? ` (${total('rateLimitWaits')} waited for the rate limiter)` : ''}`,
      `IAM tokens signed: ${list('tokens')}; credential lookups: ${list('credentials')}`,
      `transactions: ${total('transactions')} calls (${list('transactions')}) in ${total('attempts')} attempts (${list('attempts')})`,
      `connections closed: ${list('closed')}`,
    ],
    stop: () => {
      for (const [name, listener] of listeners) unsubscribe(name, listener);
    },
  };
}

/** Rejects if `promise` has not settled after `ms`, so a stuck example fails the demo instead of hanging it. */
function withDeadline(promise, ms) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const started = performance.now();
const { startDsqlLocal } = await built('packages/local/dist/index.js');

const tally = await tallyDiagnostics();
process.stdout.write('Starting @dsql/local on an embedded PostgreSQL 16 … ');
const local = await startDsqlLocal();
let failed = false;
try {
  console.log(`ready in ${seconds(started)}`);
  console.log(`  endpoint ${local.host} (dialled at ${local.hostaddr}:${local.port}, TLS verify-full, IAM tokens)\n`);
  for (const { dir, title } of examples) {
    const t = performance.now();
    console.log(`${title}  (examples/${dir})`);
    try {
      const { main } = await built(`examples/${dir}/dist/main.js`);
      await withDeadline(main({ connection: local.connectionOptions(), log: (line) => console.log(`  ${line}`) }), 60_000);
      console.log(`  done in ${seconds(t)}\n`);
    } catch (err) {
      failed = true;
      console.log(`  FAILED: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
  }
  try {
    await withDeadline(whenThingsGoWrong(local), 60_000);
  } catch (err) {
    failed = true;
    console.log(`  FAILED: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
  const s = local.stats();
  console.log(
    `@dsql/local saw ${s.authenticated} IAM-authenticated connections, ${s.queries} statements, ` +
      `${s.occConflicts} OCC conflicts (40001) — all retried by the adapters.`,
  );
  console.log("\nMetrics  (tallied from @dsql/core's diagnostics channels — what @dsql/opentelemetry records)");
  for (const line of tally.lines()) console.log(`  ${line}`);
} finally {
  tally.stop();
  // A stuck example's sessions must not keep the demo alive: stop() ends them all.
  await withDeadline(local.stop(), 30_000).catch((err) => console.log(`stopping @dsql/local: ${err.message}`));
}
console.log(`${failed ? 'Demo FAILED' : 'Demo finished'} in ${seconds(started)}; local endpoint and PostgreSQL stopped.`);
console.log('Next: `pnpm test` runs every test; `DSQL_ENDPOINT=<your cluster endpoint> pnpm --filter example-pg start` runs one example on a real cluster.');
process.exit(failed ? 1 : 0);
