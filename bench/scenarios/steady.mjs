// 1. Steady SELECT: throughput and p50/p99 latency, pool of 8, 16 concurrent callers, every
// candidate on one emulator, alternating over several rounds.
import { BASELINE, CANDIDATES, createCandidate, presignedToken } from '../lib/candidates.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, int, median, medianRatio, ms, percentile, times } from '../lib/measure.mjs';

export const id = 'steady';
export const title = 'Steady SELECT throughput and latency';

/** Runs `callers` loops of `candidate.query()` for `seconds`; returns q/s and latency percentiles. */
async function load(candidate, callers, seconds) {
  const latencies = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await candidate.query();
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { qps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length };
}

export async function run({ quick, log }) {
  const rounds = quick ? 2 : 5;
  const seconds = quick ? 0.3 : 1.5;
  const callers = 16;
  const max = 8;
  const credMs = 5;
  const emu = await startEmulator();
  const candidates = {};
  try {
    const token = await presignedToken(emu);
    for (const name of CANDIDATES) candidates[name] = await createCandidate(name, emu, { max, credMs, token });
    for (const name of CANDIDATES) await load(candidates[name], callers, quick ? 0.2 : 1); // warm up: connections, JIT
    const perRound = await alternate(CANDIDATES, rounds, (name) => load(candidates[name], callers, seconds));
    const rows = CANDIDATES.map((name) => {
      const r = perRound[name];
      const queries = r.reduce((a, x) => a + x.n, 0);
      return {
        name,
        qps: median(r.map((x) => x.qps)),
        ratio: medianRatio(perRound, name, BASELINE[name], (x) => x.qps),
        p50: median(r.map((x) => x.p50)),
        p99: median(r.map((x) => x.p99)),
        credentialCalls: candidates[name].credentialCalls(),
        queries,
        rounds: r.map((x) => Math.round(x.qps)),
      };
    });
    for (const r of rows) log(`  ${r.name.padEnd(15)} ${int(r.qps).padStart(7)} q/s  ${times(r.ratio)} ${BASELINE[r.name]}  p50 ${ms(r.p50)} ms  p99 ${ms(r.p99)} ms  rounds ${r.rounds.join(' ')}`);
    return {
      setup: `${rounds} rounds × ${seconds} s per candidate, ${callers} callers, pool max ${max}, credential provider ${credMs} ms per call; the emulator in its own process`,
      columns: ['candidate', 'median q/s', 'vs plain driver', 'p50 ms', 'p99 ms', 'credential calls', 'measured queries', 'q/s per round'],
      rows: rows.map((r) => [r.name, int(r.qps), `${times(r.ratio)} ${BASELINE[r.name]}`, ms(r.p50), ms(r.p99), int(r.credentialCalls), int(r.queries), r.rounds.join(' ')]),
      chart: rows.map((r) => ({ label: r.name, value: r.qps, note: r.name === BASELINE[r.name] ? 'baseline' : times(r.ratio) })),
      data: rows,
    };
  } finally {
    await Promise.all(Object.values(candidates).map((c) => c.end().catch(() => undefined)));
    await emu.stop();
  }
}
