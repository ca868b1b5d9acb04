// 8. Fleet storm (issue 22): P processes restarting together, each opening C connections with its
// own DsqlPool and its own connection rate limiter, against an endpoint admitting `rate` (DSQL:
// 100/s, burst 1,000 per cluster; scaled down because a 2-core machine opens only a few dozen
// connections a second in all). Measured per mode: attempts the endpoint refused with 53400 (each
// a TLS handshake and an authentication for nothing) and the time from the start signal until
// every process holds all its connections — against the bucket's minimum, (P·C − burst) / rate,
// and the machine's floor (the same fleet against an endpoint with no limit), and against the fixed
// fleet of the same round: it keeps the endpoint's bucket empty from start to end, so no limiter
// that refuses itself anything finishes sooner (processes still starting up leave the bucket full
// for a while, which neither the minimum nor the floor counts).
//   fixed     each process's limiter at the cluster's rate (connectRateLimit: { perSecond, burst })
//   adaptive  the same with adaptive: true
import { spawn } from 'node:child_process';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, int, median, medianRatio, sleep } from '../lib/measure.mjs';

export const id = 'fleet-storm';
export const title = 'Fleet storm: processes connecting together against one cluster';

const MEMBER = new URL('../lib/fleet-member.mjs', import.meta.url).pathname;

/** Starts the fleet, releases it when every process is ready, and returns what each saw. */
async function fleet(emu, { processes, connections, connectRateLimit }) {
  const members = Array.from({ length: processes }, () => {
    const child = spawn(process.execPath, [MEMBER], {
      env: { ...process.env, FLEET_CONNECTIONS: String(connections), FLEET_OPTIONS: JSON.stringify({ ...emu.connectionOptions(), connectRateLimit }) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const m = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.once('close', resolve)) };
    child.stdout.setEncoding('utf8').on('data', (d) => (m.stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (m.stderr += d));
    return m;
  });
  try {
    const readyBy = Date.now() + 60_000;
    while (!members.every((m) => m.stdout.includes('READY'))) {
      if (Date.now() > readyBy) throw new Error('fleet members not ready within 60 s');
      await sleep(20);
    }
    const before = await emu.stats();
    for (const m of members) m.child.stdin.end('GO\n');
    let timer;
    const codes = await Promise.race([
      Promise.all(members.map((m) => m.exited)),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('fleet did not finish within 180 s')), 180_000))),
    ]).finally(() => clearTimeout(timer));
    const after = await emu.stats();
    const results = members.map((m, i) => {
      if (codes[i] !== 0) throw new Error(`fleet member ${i} exited with ${codes[i]}: ${m.stderr.slice(-400)}`);
      return JSON.parse(/^RESULT (.*)$/m.exec(m.stdout)[1]);
    });
    return {
      refused: after.rateLimited - before.rateLimited,
      connected: results.reduce((a, r) => a + r.connected, 0),
      seconds: Math.max(...results.map((r) => r.ms)) / 1000,
      decreases: results.reduce((a, r) => a + (r.limiter?.decreases ?? 0), 0),
    };
  } finally {
    for (const m of members) if (m.child.exitCode === null) m.child.kill('SIGKILL');
  }
}

export async function run({ quick, log }) {
  const rate = { perSecond: 10, burst: 10 };
  const processes = 8;
  const connections = 10;
  const rounds = quick ? 1 : 3;
  const total = processes * connections;
  const minimum = (total - rate.burst) / rate.perSecond;
  const modes = { fixed: { ...rate }, adaptive: { ...rate, adaptive: true } };

  // The machine's floor: the same fleet, no limit anywhere.
  const open = await startEmulator({ connectRate: false });
  let floor;
  try {
    floor = median(
      await Promise.all([0].map(async () => (await fleet(open, { processes, connections, connectRateLimit: false })).seconds)),
    );
  } finally {
    await open.stop();
  }
  log(`  floor (no limit): all ${total} connected in ${floor.toFixed(2)} s; bucket minimum ${minimum.toFixed(1)} s`);

  const emu = await startEmulator({ connectRate: rate });
  try {
    const perRound = await alternate(Object.keys(modes), rounds, async (mode) => {
      const r = await fleet(emu, { processes, connections, connectRateLimit: modes[mode] });
      // Let the endpoint's bucket refill before the next fleet.
      await sleep((rate.burst / rate.perSecond) * 1000 + 500);
      return r;
    });
    const target = Math.max(minimum, floor);
    const rows = Object.keys(modes).map((name) => {
      const r = perRound[name];
      return {
        name,
        refused: median(r.map((x) => x.refused)),
        refusedShare: median(r.map((x) => x.refused)) / total,
        connected: median(r.map((x) => x.connected)),
        seconds: median(r.map((x) => x.seconds)),
        vsTarget: median(r.map((x) => x.seconds)) / target,
        vsFixed: medianRatio(perRound, name, 'fixed', (x) => x.seconds),
        decreases: median(r.map((x) => x.decreases)),
      };
    });
    for (const r of rows) {
      log(`  ${r.name.padEnd(9)} refused ${int(r.refused)} for ${total} connections (${(r.refusedShare * 100).toFixed(0)} %)  all connected in ${r.seconds.toFixed(2)} s (${r.vsTarget.toFixed(2)}× max(bucket minimum, floor), ${r.vsFixed.toFixed(2)}× fixed)  decreases ${int(r.decreases)}  per round: ${perRound[r.name].map((x) => `${x.refused}/${x.seconds.toFixed(1)} s`).join(', ')}`);
    }
    return {
      setup: `${processes} processes × ${connections} connections started together (a DsqlPool each, own limiter at ${rate.perSecond}/s, burst ${rate.burst}) against an endpoint admitting ${rate.perSecond}/s, burst ${rate.burst}; ${rounds} round(s), fixed and adaptive alternating; bucket minimum ${minimum.toFixed(1)} s, machine floor (no limit) ${floor.toFixed(2)} s`,
      columns: ['limiter', 'refused attempts (median)', 'refused / connections', 'all connected (s)', '× max(minimum, floor)', '× fixed (same round)'],
      rows: rows.map((r) => [r.name, int(r.refused), `${(r.refusedShare * 100).toFixed(0)} %`, r.seconds.toFixed(2), r.vsTarget.toFixed(2), r.vsFixed.toFixed(2)]),
      data: { floor, minimum, rows },
    };
  } finally {
    await emu.stop();
  }
}
