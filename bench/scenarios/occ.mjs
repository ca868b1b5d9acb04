// 6. OCC contention: 16 callers transfer money between a few hot accounts, each transfer one
// transaction (two UPDATEs), through each candidate's own transaction API — with OCC retry where
// it has one (DsqlPool.transaction, AuroraDSQLPool.transaction, transaction() of @dsql/postgres),
// a plain BEGIN … COMMIT (pg.Pool) or sql.begin (postgres()) otherwise. Measured: committed
// transactions per second and failures that reach the application. The total balance is checked
// after every run (it must never change).
import pg from 'pg';
import { BASELINE, CANDIDATES, createCandidate, presignedToken } from '../lib/candidates.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, int, median, medianRatio, times } from '../lib/measure.mjs';

const DEBUG = process.env.BENCH_DEBUG === '1';

export const id = 'occ';
export const title = 'OCC contention: committed transactions and failures reaching the app';

export async function run({ quick, log }) {
  const accounts = 8;
  const callers = 16;
  const seconds = quick ? 1 : 3;
  const rounds = quick ? 1 : 2;
  const emu = await startEmulator();
  // Fixture and checks go to the upstream PostgreSQL directly (bypassing the proxy).
  const admin = new pg.Client({ connectionString: emu.upstreamUrl });
  await admin.connect();
  const candidates = {};
  try {
    await admin.query('CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)');
    await admin.query(`INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, ${accounts}) g`);
    const total = async () => Number((await admin.query('SELECT sum(balance)::bigint AS s FROM accounts')).rows[0].s);
    const start = await total();
    const token = await presignedToken(emu);
    for (const name of CANDIDATES) candidates[name] = await createCandidate(name, emu, { max: 8, token });
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31); // deterministic pairs
    // A transfer with no answer after HUNG_MS counts as a failure ("no answer") and stops its
    // caller: seen with the Postgres.js candidates under contention (see README, Known issues).
    const HUNG_MS = 10_000;
    const hung = Symbol('hung');
    const contend = async (name) => {
      const c = candidates[name];
      let committed = 0;
      const errors = new Map();
      const until = performance.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (performance.now() < until) {
            const from = 1 + Math.floor(random() * accounts);
            const to = 1 + ((from + Math.floor(random() * (accounts - 1))) % accounts);
            let timer;
            try {
              const answer = await Promise.race([c.transfer(from, to, 1), new Promise((r) => (timer = setTimeout(() => r(hung), HUNG_MS)))]);
              if (answer === hung) {
                errors.set(`no answer after ${HUNG_MS / 1000} s`, (errors.get(`no answer after ${HUNG_MS / 1000} s`) ?? 0) + 1);
                return;
              }
              committed++;
            } catch (err) {
              const key = String(err?.code ?? err?.message ?? err).slice(0, 40);
              errors.set(key, (errors.get(key) ?? 0) + 1);
            } finally {
              clearTimeout(timer);
            }
          }
        }),
      );
      const sum = await total();
      if (sum !== start) throw new Error(`occ: total balance changed under ${name}: ${start} → ${sum}`);
      if (DEBUG) console.log(`    ${name}: ${committed} committed, ${[...errors].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
      return { tps: committed / seconds, committed, errors };
    };
    await alternate(CANDIDATES, 1, (name) => contend(name)); // warm up
    const perRound = await alternate(CANDIDATES, rounds, contend);
    const rows = CANDIDATES.map((name) => {
      const r = perRound[name];
      const errors = new Map();
      for (const x of r) for (const [k, v] of x.errors) errors.set(k, (errors.get(k) ?? 0) + v);
      const failures = [...errors.values()].reduce((a, b) => a + b, 0);
      const committed = r.reduce((a, x) => a + x.committed, 0);
      return {
        name,
        tps: median(r.map((x) => x.tps)),
        ratio: medianRatio(perRound, name, BASELINE[name], (x) => x.tps),
        committed,
        failures,
        failureRate: failures / (failures + committed),
        errorKinds: [...errors].map(([k, v]) => `${k} ×${v}`).join('; '),
      };
    });
    for (const r of rows) log(`  ${r.name.padEnd(15)} ${int(r.tps)} commits/s  ${times(r.ratio)} ${BASELINE[r.name]}  failures reaching the app ${r.failures} (${(r.failureRate * 100).toFixed(1)} %)${r.errorKinds ? ` ${r.errorKinds}` : ''}`);
    return {
      setup: `${accounts} hot accounts, ${callers} callers, pool max 8, ${rounds} × ${seconds} s per candidate after a warm-up; emulator lock timeout 100 ms (a conflicting write waits up to that long before it is doomed); total balance checked after every run`,
      columns: ['candidate', 'commits/s (median)', 'vs plain driver', 'committed', 'failures reaching the app', 'failure share'],
      rows: rows.map((r) => [r.name, int(r.tps), `${times(r.ratio)} ${BASELINE[r.name]}`, int(r.committed), `${int(r.failures)}${r.errorKinds ? ` (${r.errorKinds})` : ''}`, `${(r.failureRate * 100).toFixed(1)} %`]),
      data: rows,
    };
  } finally {
    await Promise.all(Object.values(candidates).map((c) => c.end().catch(() => undefined)));
    await admin.end().catch(() => undefined);
    await emu.stop();
  }
}
