// Measures OCC retry policies under contention, to choose DEFAULT_RETRY (src/retry.ts).
//
//   pnpm --filter @dsql/core build && node packages/core/scripts/occ-contention.mjs
//
// A discrete-event simulation in virtual time driving the real `withRetry` (its sleep and clock
// are injected). W workers each run N read-modify-write transactions on one of K hot rows. A
// transaction attempt takes TX_MS (BEGIN, read, write, COMMIT round-trips); DSQL checks for
// conflicts at COMMIT: an attempt fails with 40001 (OC000) when another transaction committed
// the same row after the attempt's snapshot was taken. No real database is involved: the point
// is the interplay of backoff windows and contention, which depends on timing only.
import { withRetry } from '../dist/index.js';

const TX_MS = Number(process.env.TX_MS ?? 10);

function simulate({ workers, txPerWorker, rows, policy, seed }) {
  let now = 0;
  let rnd = seed >>> 0;
  const random = () => ((rnd = (Math.imul(rnd ^ (rnd >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32);
  const queue = []; // [time, seq, resolve], a small binary heap would be faster; the runs are short
  let seq = 0;
  const sleep = (ms) => new Promise((resolve) => queue.push([now + ms, seq++, resolve]));
  const lastCommit = new Array(rows).fill(-1);
  const stats = { ok: 0, failed: 0, attempts: 0, latencies: [] };

  async function transaction() {
    const row = Math.floor(random() * rows);
    const started = now;
    try {
      await withRetry(
        async () => {
          stats.attempts++;
          const snapshot = now;
          await sleep(TX_MS * (0.8 + 0.4 * random()));
          if (lastCommit[row] > snapshot) throw Object.assign(new Error('change conflicts with another transaction (OC000)'), { code: '40001' });
          lastCommit[row] = now;
        },
        { ...policy, sleep, now: () => now, random },
      );
      stats.ok++;
      stats.latencies.push(now - started);
    } catch {
      stats.failed++;
    }
  }

  async function worker() {
    for (let i = 0; i < txPerWorker; i++) await transaction();
  }

  return (async () => {
    const done = Promise.all(Array.from({ length: workers }, worker));
    let finished = false;
    done.then(() => (finished = true));
    while (!finished) {
      await new Promise((r) => setImmediate(r)); // let every resolved continuation run
      if (finished) break;
      queue.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const next = queue.shift();
      if (!next) continue;
      now = Math.max(now, next[0]);
      next[2]();
    }
    const l = stats.latencies.sort((a, b) => a - b);
    const q = (p) => (l.length ? Math.round(l[Math.min(l.length - 1, Math.floor(p * l.length))]) : NaN);
    return {
      successPct: ((100 * stats.ok) / (stats.ok + stats.failed)).toFixed(1),
      attemptsPerTx: (stats.attempts / (stats.ok + stats.failed)).toFixed(2),
      p50: q(0.5),
      p99: q(0.99),
      commitsPerSec: Math.round((stats.ok * 1000) / now),
    };
  })();
}

const policies = {
  'aws-window 1..100ms x10': { baseDelayMs: 1, maxDelayMs: 100, maxAttempts: 10, maxElapsedMs: 30_000 },
  '5..500ms x10': { baseDelayMs: 5, maxDelayMs: 500, maxAttempts: 10, maxElapsedMs: 30_000 },
  '10..1000ms x10': { baseDelayMs: 10, maxDelayMs: 1000, maxAttempts: 10, maxElapsedMs: 30_000 },
  '20..2000ms x10': { baseDelayMs: 20, maxDelayMs: 2000, maxAttempts: 10, maxElapsedMs: 30_000 },
  '10..1000ms x20': { baseDelayMs: 10, maxDelayMs: 1000, maxAttempts: 20, maxElapsedMs: 30_000 },
  '5..1000ms x20 default': { baseDelayMs: 5, maxDelayMs: 1000, maxAttempts: 20, maxElapsedMs: 30_000 },
  '20..2000ms x15': { baseDelayMs: 20, maxDelayMs: 2000, maxAttempts: 15, maxElapsedMs: 30_000 },
  '100..5000ms x10': { baseDelayMs: 100, maxDelayMs: 5000, maxAttempts: 10, maxElapsedMs: 30_000 },
};

const scenarios = (process.env.SCENARIOS ?? '2x1,8x1,32x1,64x1,32x16,128x64').split(',').map((s) => s.split('x').map(Number));
console.log(`TX_MS=${TX_MS}; each worker runs 10 transactions; cells: success% / attempts per tx / p50 ms / p99 ms / commits/s`);
for (const [workers, rows] of scenarios) {
  console.log(`\n${workers} workers on ${rows} hot row(s)`);
  for (const [name, policy] of Object.entries(policies)) {
    const r = await simulate({ workers, txPerWorker: 10, rows, policy, seed: 42 });
    console.log(`  ${name.padEnd(22)} ${r.successPct.padStart(5)}%  ${r.attemptsPerTx.padStart(5)}  p50 ${String(r.p50).padStart(5)}  p99 ${String(r.p99).padStart(6)}  ${String(r.commitsPerSec).padStart(5)}/s`);
  }
}
