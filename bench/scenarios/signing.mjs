// 2. Credential resolutions and token signings per 10,000 queries: each candidate, fresh, runs
// the same number of `SELECT 1` (16 callers, pool of 8); we count calls to its credential
// provider and DSQL token signings (core's diagnostics channel for ours, the SDK's signer for
// AWS's connector, see lib/measure.mjs).
import { CANDIDATES, createCandidate, presignedToken } from '../lib/candidates.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { countSignings, int } from '../lib/measure.mjs';

export const id = 'signing';
export const title = 'Credential resolutions and token signings per 10,000 queries';

export async function run({ quick, log }) {
  const queries = quick ? 1_000 : 10_000;
  const callers = 16;
  const emu = await startEmulator();
  try {
    const token = await presignedToken(emu); // the plain drivers' one signing, made before counting
    const rows = [];
    for (const name of CANDIDATES) {
      const signings = countSignings();
      const candidate = await createCandidate(name, emu, { max: 8, credMs: 5, token });
      const t = performance.now();
      try {
        let left = queries;
        await Promise.all(
          Array.from({ length: callers }, async () => {
            while (left > 0) {
              left--;
              await candidate.query();
            }
          }),
        );
      } finally {
        await candidate.end();
        signings.stop();
      }
      const scale = 10_000 / queries;
      const row = {
        name,
        credentialCalls: candidate.credentialCalls() * scale,
        signings: signings.count() * scale,
        seconds: (performance.now() - t) / 1000,
      };
      rows.push(row);
      log(`  ${name.padEnd(15)} credential calls ${int(row.credentialCalls)}  signings ${int(row.signings)}  per 10,000 queries (${row.seconds.toFixed(1)} s)`);
    }
    return {
      setup: `${int(queries)} queries per candidate${quick ? ' (scaled to 10,000)' : ''}, 16 callers, pool max 8, a fresh pool and credential provider each; plain drivers use one token signed beforehand (not counted)`,
      columns: ['candidate', 'credential resolutions / 10k queries', 'token signings / 10k queries', 'wall time (s)'],
      rows: rows.map((r) => [r.name, int(r.credentialCalls), int(r.signings), r.seconds.toFixed(1)]),
      data: rows,
    };
  } finally {
    await emu.stop();
  }
}
