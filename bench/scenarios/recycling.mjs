// 4. Recycling soak: the emulator closes connections at a short max age (as DSQL does at 60 min),
// at the first idle moment after it; 16 callers keep querying. Counted: errors that reach the
// application, and pool 'error' events (an idle connection that died; pg-pool drops it).
// Every candidate is configured as a careful user would: a max lifetime below the server's
// (the connectors draw each connection's from a window; plain drivers and AWS's pool take a
// fixed value, pg.Pool and AuroraDSQLPool via pg-pool's maxLifetimeSeconds, postgres() via
// max_lifetime). A second pg.Pool without any lifetime shows what the server's closing costs.
import { CANDIDATES, createCandidate, presignedToken } from '../lib/candidates.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, int } from '../lib/measure.mjs';

export const id = 'recycling';
export const title = 'Recycling soak: errors seen by the application';

const NAIVE = 'pg.Pool, no lifetime';

export async function run({ quick, log }) {
  const serverAge = 3; // seconds (DSQL: 3,600)
  const lifetime = [2.25, 2.75]; // the connectors' default window scaled: 45–55 min of 60
  const seconds = quick ? 4 : 5;
  const rounds = quick ? 1 : 2;
  const callers = 16;
  const names = [...CANDIDATES, NAIVE];
  const emu = await startEmulator({ maxConnectionAgeSeconds: serverAge });
  try {
    const token = await presignedToken(emu);
    const soak = async (name) => {
      const candidate =
        name === NAIVE
          ? await createCandidate('pg.Pool', emu, { token })
          : await createCandidate(name, emu, { token, lifetime });
      const errors = new Map();
      let queries = 0;
      const before = await emu.stats();
      const until = performance.now() + seconds * 1000;
      try {
        await Promise.all(
          Array.from({ length: callers }, async () => {
            while (performance.now() < until) {
              try {
                await candidate.query();
                queries++;
              } catch (err) {
                const key = String(err?.code ?? err?.message ?? err).slice(0, 60);
                errors.set(key, (errors.get(key) ?? 0) + 1);
              }
            }
          }),
        );
      } finally {
        await candidate.end().catch(() => undefined);
      }
      const after = await emu.stats();
      return { queries, errors, poolErrors: candidate.poolErrors(), closedForAge: after.closedForAge - before.closedForAge };
    };
    const perRound = await alternate(names, rounds, soak);
    const rows = names.map((name) => {
      const r = perRound[name];
      const errors = new Map();
      for (const x of r) for (const [k, v] of x.errors) errors.set(k, (errors.get(k) ?? 0) + v);
      return {
        name,
        queries: r.reduce((a, x) => a + x.queries, 0),
        appErrors: [...errors.values()].reduce((a, b) => a + b, 0),
        errorKinds: [...errors].map(([k, v]) => `${v}× ${k}`).join('; '),
        poolErrors: r.reduce((a, x) => a + x.poolErrors, 0),
        closedForAge: r.reduce((a, x) => a + x.closedForAge, 0),
      };
    });
    for (const r of rows) log(`  ${r.name.padEnd(21)} queries ${int(r.queries)}  app errors ${r.appErrors}${r.errorKinds ? ` (${r.errorKinds})` : ''}  pool error events ${r.poolErrors}  closed by server ${r.closedForAge}`);
    return {
      setup: `server max connection age ${serverAge} s (+ ≤ 1 % jitter); client lifetime ${lifetime.join('–')} s (fixed ${lifetime[0]} s where no window exists); ${rounds} × ${seconds} s per candidate, ${callers} callers, pool max 8`,
      columns: ['candidate', 'queries', 'errors reaching the app', 'pool error events', 'connections closed by the server'],
      rows: rows.map((r) => [r.name, int(r.queries), r.appErrors + (r.errorKinds ? ` (${r.errorKinds})` : ''), int(r.poolErrors), int(r.closedForAge)]),
      data: rows,
    };
  } finally {
    await emu.stop();
  }
}
