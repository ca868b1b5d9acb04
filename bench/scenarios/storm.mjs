// 5. Connection storm: N callers each need a connection at once (pool max N), against an emulator
// whose new-connection token bucket admits `burst` at once and then `perSecond` (DSQL: 100/s,
// burst 1,000; scaled down here). Measured: connection attempts refused with errors that reach
// the application, and the time until all N hold a connection and have run a query — against the
// theoretical minimum the bucket allows, (N − burst) / perSecond.
import { CANDIDATES, createCandidate, presignedToken } from '../lib/candidates.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, int, median, sleep } from '../lib/measure.mjs';

export const id = 'storm';
export const title = 'Connection storm against the rate limit';

export async function run({ quick, log }) {
  const rate = { perSecond: 100, burst: 50 };
  const n = quick ? 100 : 200;
  const rounds = quick ? 1 : 3;
  const minimum = Math.max(0, (n - rate.burst) / rate.perSecond);
  // A caller that has neither a connection nor an error by then counts as an error: plain
  // Postgres.js leaves some `sql.reserve()` calls pending forever once connection attempts were
  // refused (seen here: 47 refused, 100 sessions authenticated, 8 reservations settled).
  const limitMs = (minimum * 3 + 3) * 1000;
  const deadline = (promise) => {
    let timer;
    return Promise.race([
      promise,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no connection after ${limitMs / 1000} s`)), limitMs))),
    ]).finally(() => clearTimeout(timer));
  };
  const emu = await startEmulator({ connectRate: rate });
  try {
    const token = await presignedToken(emu);
    const storm = async (name) => {
      const candidate = await createCandidate(name, emu, { max: n, token, connectTimeoutSeconds: 30 });
      const before = await emu.stats();
      const t = performance.now();
      const held = [];
      const errors = new Map();
      let lastConnected = 0;
      try {
        await Promise.all(
          Array.from({ length: n }, async () => {
            try {
              const conn = await deadline(candidate.reserve());
              held.push(conn);
              await deadline(conn.query());
              lastConnected = performance.now() - t;
            } catch (err) {
              const key = String(err?.code ?? err?.message ?? err).slice(0, 60);
              errors.set(key, (errors.get(key) ?? 0) + 1);
            }
          }),
        );
      } finally {
        for (const c of held) c.release();
        await candidate.end().catch(() => undefined);
      }
      const after = await emu.stats();
      // Let the bucket refill before the next candidate.
      await sleep((rate.burst / rate.perSecond) * 1000 + 300);
      return { connected: held.length, seconds: lastConnected / 1000, errors, refusedByServer: after.rateLimited - before.rateLimited };
    };
    const perRound = await alternate(CANDIDATES, rounds, storm);
    const rows = CANDIDATES.map((name) => {
      const r = perRound[name];
      const errors = new Map();
      for (const x of r) for (const [k, v] of x.errors) errors.set(k, (errors.get(k) ?? 0) + v);
      const complete = r.filter((x) => x.connected === n);
      return {
        name,
        appErrors: [...errors.values()].reduce((a, b) => a + b, 0) / rounds,
        errorKinds: [...errors].map(([k, v]) => `${k} ×${v}`).join('; '),
        connected: median(r.map((x) => x.connected)),
        seconds: complete.length === r.length ? median(r.map((x) => x.seconds)) : NaN,
        refusedByServer: r.reduce((a, x) => a + x.refusedByServer, 0) / rounds,
      };
    });
    for (const r of rows) {
      log(`  ${r.name.padEnd(15)} connected ${r.connected}/${n}  app errors ${int(r.appErrors)}/round${r.errorKinds ? ` (${r.errorKinds})` : ''}  all connected in ${Number.isFinite(r.seconds) ? `${r.seconds.toFixed(2)} s (${(r.seconds / minimum).toFixed(2)}× minimum)` : '–'}  refused by server ${int(r.refusedByServer)}/round`);
    }
    return {
      setup: `${n} simultaneous connections (pool max ${n}), emulator bucket ${rate.perSecond}/s with burst ${rate.burst} → theoretical minimum ${minimum.toFixed(2)} s; ${rounds} round(s), bucket refilled between candidates`,
      columns: ['candidate', `connected (of ${n})`, 'errors reaching the app per round', 'time to all connected (s)', 'vs theoretical minimum', 'attempts refused by the server per round'],
      rows: rows.map((r) => [
        r.name,
        int(r.connected),
        `${int(r.appErrors)}${r.errorKinds ? ` (${r.errorKinds})` : ''}`,
        Number.isFinite(r.seconds) ? r.seconds.toFixed(2) : 'never',
        Number.isFinite(r.seconds) ? `${(r.seconds / minimum).toFixed(2)}×` : '–',
        int(r.refusedByServer),
      ]),
      data: rows,
    };
  } finally {
    await emu.stop();
  }
}
