// 11. Multi-Region failover: steady money transfers through `endpoints` (a two-Region
// @dsql/local cluster, us-east-1 preferred), then the preferred Region is isolated in each mode
// ('refuse', 'drop', 'blackhole') and healed. Measured per adapter and mode: time from the
// isolation to the first commit after it (every commit after the isolation went through
// us-east-2: us-east-1 answers nothing), errors reaching the application (other than
// CommitOutcomeUnknownError for a COMMIT in flight, counted apart), and time from heal to
// failback (new connections prefer us-east-1 again). The total balance is checked after each run.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { DSQL_FAILOVER_CHANNELS, isCommitOutcomeUnknownError } from '@dsql/core';
import { startDsqlLocalCluster } from '@dsql/local';
import { DsqlPool } from '@dsql/pg';
import { dsql, transaction } from '@dsql/postgres';
import { int } from '../lib/measure.mjs';

export const id = 'failover';
export const title = 'Multi-Region failover: time to the first commit in the other Region, errors, time to fail back';

const PREFERRED = 'us-east-1';
const OTHER = 'us-east-2';
const WORKERS = 4;
/** Health checks every ~1 s, unanswered after 2 s; the probe of an unhealthy endpoint from 200 ms. */
const PROBE = { baseDelayMs: 200, maxDelayMs: 1000, timeoutMs: 2000, intervalMs: 1000 };
/**
 * The last run: the periodic check at its default (every 30 s ±25 %), so a blackhole under the
 * busy pool is found by the statements left unanswered (endpointProbe.suspectAfterMs, 1 s here).
 */
const SUSPECT_PROBE = { ...PROBE, intervalMs: 30_000, suspectAfterMs: 1000 };
const MODES = [
  { mode: 'refuse', probe: PROBE },
  { mode: 'drop', probe: PROBE },
  { mode: 'blackhole', probe: PROBE },
  { mode: 'blackhole', label: 'blackhole, checks every 30 s, suspect after 1 s', probe: SUSPECT_PROBE },
];

const ADAPTERS = {
  'DsqlPool': (endpoints, endpointProbe) => {
    const pool = new DsqlPool({ endpoints, endpointProbe, max: WORKERS, connectionTimeoutMillis: 10_000 });
    pool.on('error', () => {});
    return {
      transfer: (from, to) =>
        pool.transaction(async (tx) => {
          await tx.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [from]);
          await tx.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [to]);
        }),
      end: () => pool.end(),
    };
  },
  'dsql()': (endpoints, endpointProbe) => {
    const sql = dsql({ endpoints, endpointProbe, max: WORKERS, connect_timeout: 10 });
    return {
      transfer: (from, to) =>
        transaction(sql, async (tx) => {
          await tx`UPDATE accounts SET balance = balance - 1 WHERE id = ${from}`;
          await tx`UPDATE accounts SET balance = balance + 1 WHERE id = ${to}`;
        }),
      end: () => sql.end({ timeout: 1 }),
    };
  },
};

async function until(what, condition, ms) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`failover: timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function run({ quick, log }) {
  const cluster = await startDsqlLocalCluster({ regions: [PREFERRED, OTHER] });
  const endpoints = cluster.endpoints.map((e) => e.connectionOptions());
  const admin = new DsqlPool({ ...cluster.endpoint(OTHER).connectionOptions(), max: 1 });
  const rows = [];
  try {
    await admin.query('CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)');
    for (let id = 0; id < 2 * WORKERS; id++) await admin.query('INSERT INTO accounts VALUES ($1, 1000)', [id]);
    const total = async () => Number((await admin.query('SELECT sum(balance)::bigint AS s FROM accounts')).rows[0].s);
    const start = await total();
    for (const [name, create] of Object.entries(ADAPTERS)) {
      for (const { mode, label = mode, probe } of quick ? MODES.slice(0, 1) : MODES) {
        const failbacks = [];
        const onFailback = (m) => failbacks.push({ at: performance.now(), to: m.to.region });
        subscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
        const adapter = create(endpoints, probe);
        const commits = [];
        const errors = new Map();
        let unknown = 0;
        let stopped = false;
        // Each worker moves money between its own two accounts: no OCC conflict between workers.
        const workers = Array.from({ length: WORKERS }, async (_, w) => {
          for (let i = 0; !stopped; i++) {
            const [from, to] = i % 2 === 0 ? [2 * w, 2 * w + 1] : [2 * w + 1, 2 * w];
            try {
              await adapter.transfer(from, to);
              commits.push(performance.now());
            } catch (err) {
              if (isCommitOutcomeUnknownError(err)) unknown++;
              else {
                const key = String(err?.code ?? err?.message ?? err).slice(0, 50);
                errors.set(key, (errors.get(key) ?? 0) + 1);
              }
            }
          }
        });
        try {
          await until('steady commits through the preferred Region', () => commits.length >= 50, 30_000);
          const isolatedAt = performance.now();
          cluster.isolate(PREFERRED, { mode });
          await until('the first commit after the isolation', () => commits.some((t) => t > isolatedAt), 30_000);
          const failoverMs = commits.find((t) => t > isolatedAt) - isolatedAt;
          await new Promise((r) => setTimeout(r, quick ? 200 : 1000)); // transfers keep going in us-east-2
          const healedAt = performance.now();
          cluster.heal(PREFERRED);
          await until('the failback', () => failbacks.some((f) => f.at > healedAt && f.to === PREFERRED), 30_000);
          const failbackMs = failbacks.find((f) => f.at > healedAt).at - healedAt;
          const failures = [...errors.values()].reduce((a, b) => a + b, 0);
          rows.push({ name, mode: label, failoverMs, failbackMs, committed: commits.length, failures, unknown, errorKinds: [...errors].map(([k, v]) => `${k} ×${v}`).join('; ') });
          log(`  ${name.padEnd(9)} ${label.padEnd(9)} first commit in ${OTHER} after ${int(failoverMs)} ms, fail back after ${int(failbackMs)} ms, ${failures} errors reaching the app, ${unknown} COMMIT outcomes unknown`);
        } finally {
          stopped = true;
          await Promise.all(workers);
          await adapter.end();
          unsubscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
          cluster.heal(PREFERRED);
        }
        const sum = await total();
        if (sum !== start) throw new Error(`failover: total balance changed under ${name} (${label}): ${start} → ${sum}`);
      }
    }
    return {
      setup: `two-Region @dsql/local cluster (us-east-1 preferred), ${WORKERS} workers transferring between their own accounts, pool max ${WORKERS}; endpointProbe ${JSON.stringify(PROBE)} (the last run ${JSON.stringify(SUSPECT_PROBE)}); total balance checked after each run. Targets: refuse/drop ≤ 1 s, blackhole ≤ connect timeout (here the attempt bound ${PROBE.timeoutMs} ms) + 1 s; the last run ≤ suspectAfterMs + timeoutMs + 1 s`,
      columns: ['adapter', 'mode', 'isolation → first commit in us-east-2', 'heal → failback', 'committed', 'errors reaching the app', 'COMMIT outcome unknown'],
      rows: rows.map((r) => [r.name, r.mode, `${int(r.failoverMs)} ms`, `${int(r.failbackMs)} ms`, int(r.committed), `${r.failures}${r.errorKinds ? ` (${r.errorKinds})` : ''}`, String(r.unknown)]),
      data: rows,
    };
  } finally {
    await admin.end().catch(() => undefined);
    await cluster.stop();
  }
}
