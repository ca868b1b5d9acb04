// 3. Cold start: time from constructing a pool to the first row of its first query (TLS
// handshake, credential resolution at credMs, token signing, authentication). A fresh credential
// provider each time, so no cache from an earlier pool helps; module loading is not included.
import { CANDIDATES, createCandidate } from '../lib/candidates.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, median, ms } from '../lib/measure.mjs';

export const id = 'cold-start';
export const title = 'Cold start: time to first row';

export async function run({ quick, log }) {
  const rounds = quick ? 2 : 9;
  const credMs = 5;
  const emu = await startEmulator();
  try {
    const once = async (name) => {
      const t = performance.now();
      // The plain drivers sign their token here too: a cold process has none yet.
      const candidate = await createCandidate(name, emu, { max: 8, credMs });
      try {
        await candidate.query();
        return performance.now() - t;
      } finally {
        await candidate.end();
      }
    };
    for (const name of CANDIDATES) await once(name); // warm up JIT and TLS code paths
    const perRound = await alternate(CANDIDATES, rounds, once);
    const rows = CANDIDATES.map((name) => ({ name, median: median(perRound[name]), min: Math.min(...perRound[name]), max: Math.max(...perRound[name]) }));
    for (const r of rows) log(`  ${r.name.padEnd(15)} median ${ms(r.median)} ms  (min ${ms(r.min)}, max ${ms(r.max)})`);
    return {
      setup: `${rounds} rounds, alternating; each: new pool (fresh credential provider, ${credMs} ms per call; plain drivers sign a token first) → first row of \`SELECT 1\` → end`,
      columns: ['candidate', 'median ms to first row', 'min ms', 'max ms'],
      rows: rows.map((r) => [r.name, ms(r.median), ms(r.min), ms(r.max)]),
      data: rows,
    };
  } finally {
    await emu.stop();
  }
}
