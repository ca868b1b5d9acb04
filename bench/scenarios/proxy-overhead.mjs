// 0. Proxy overhead (context for every other number): `SELECT 1` throughput with plain pg through
// @dsql/local (TLS, token-authenticated session, framing, DSQL's SQL rules) against the same
// PostgreSQL dialled directly over plain TCP. Goal: proxy ≥ 70 % of direct. It bounds what any
// client can reach on this machine: every other scenario goes through the proxy.
import pg from 'pg';
import { presignedToken } from '../lib/candidates.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, int, median, medianRatio } from '../lib/measure.mjs';

export const id = 'proxy-overhead';
export const title = 'Emulator overhead: through @dsql/local vs PostgreSQL directly';

export async function run({ quick, log }) {
  const rounds = quick ? 2 : 5;
  const seconds = quick ? 0.3 : 1;
  const clients = 4;
  const emu = await startEmulator(process.env.RULES === 'passthrough' ? { rules: 'passthrough' } : {});
  const pools = {};
  try {
    const token = await presignedToken(emu);
    pools.direct = new pg.Pool({ connectionString: emu.upstreamUrl, max: clients });
    pools['through dsql-local'] = new pg.Pool({ host: emu.hostaddr, port: emu.port, user: 'admin', database: 'postgres', password: token, ssl: { ca: emu.ca, servername: emu.host }, max: clients });
    for (const pool of Object.values(pools)) pool.on('error', () => {});
    const names = Object.keys(pools);
    const qps = async (name) => {
      const conns = await Promise.all(Array.from({ length: clients }, () => pools[name].connect()));
      let n = 0;
      const until = performance.now() + seconds * 1000;
      await Promise.all(
        conns.map(async (c) => {
          while (performance.now() < until) {
            await c.query('SELECT 1');
            n++;
          }
        }),
      );
      for (const c of conns) c.release();
      return n / seconds;
    };
    for (const name of names) await qps(name);
    const perRound = await alternate(names, rounds, qps);
    const rows = names.map((name) => ({ name, qps: median(perRound[name]), ratio: medianRatio(perRound, name, 'direct'), rounds: perRound[name].map(Math.round) }));
    for (const r of rows) log(`  ${r.name.padEnd(20)} ${int(r.qps).padStart(7)} q/s  ${(r.ratio * 100).toFixed(1)} % of direct  rounds ${r.rounds.join(' ')}`);
    return {
      setup: `${rounds} rounds × ${seconds} s, ${clients} connections each running \`SELECT 1\` back to back (plain pg, simple protocol), SQL rules: ${process.env.RULES === 'passthrough' ? 'pass-through' : 'DSQL'}; goal ≥ 70 % of direct`,
      columns: ['path', 'median q/s', '% of direct', 'q/s per round'],
      rows: rows.map((r) => [r.name, int(r.qps), `${(r.ratio * 100).toFixed(1)} %`, r.rounds.join(' ')]),
      data: rows,
    };
  } finally {
    await Promise.all(Object.values(pools).map((p) => p.end().catch(() => undefined)));
    await emu.stop();
  }
}
