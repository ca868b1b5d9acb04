// 12. PostgreSQL over WebSocket vs TCP+TLS (issue 19): the same dsql() on the same emulator,
// once with transport 'tcp' and once with 'websocket' (the ws package's constructor), steady
// SELECT throughput and latency, pool of 8, 16 callers, alternating over rounds.
import { dsql } from '@dsql/postgres';
import { WebSocket } from 'ws';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, int, median, medianRatio, ms, percentile, times } from '../lib/measure.mjs';

export const id = 'websocket';
export const title = 'dsql() over WebSocket vs TCP+TLS: steady SELECT throughput and latency';

const CANDIDATES = ['dsql() tcp', 'dsql() websocket'];

async function load(sql, callers, seconds) {
  const latencies = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await sql`select 1 as one`;
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
  const emu = await startEmulator({ webSocket: true });
  const sqls = {};
  try {
    const base = { ...emu.connectionOptions(), max, onnotice: () => undefined };
    sqls['dsql() tcp'] = dsql(base);
    sqls['dsql() websocket'] = dsql({ ...base, transport: 'websocket', webSocketUrl: emu.webSocketUrl, webSocketConstructor: WebSocket });
    for (const name of CANDIDATES) await load(sqls[name], callers, quick ? 0.2 : 1); // warm up: connections, JIT
    const perRound = await alternate(CANDIDATES, rounds, (name) => load(sqls[name], callers, seconds));
    const rows = CANDIDATES.map((name) => {
      const r = perRound[name];
      return {
        name,
        qps: median(r.map((x) => x.qps)),
        ratio: medianRatio(perRound, name, 'dsql() tcp', (x) => x.qps),
        p50: median(r.map((x) => x.p50)),
        p99: median(r.map((x) => x.p99)),
        queries: r.reduce((a, x) => a + x.n, 0),
      };
    });
    for (const r of rows) log(`  ${r.name.padEnd(17)} ${int(r.qps).padStart(7)} q/s  ${times(r.ratio)} TCP+TLS  p50 ${ms(r.p50)} ms  p99 ${ms(r.p99)} ms`);
    return {
      setup: `${rounds} rounds × ${seconds} s per transport, ${callers} callers, pool max ${max}; one emulator in its own process serving both`,
      columns: ['candidate', 'median q/s', 'vs TCP+TLS', 'p50 ms', 'p99 ms', 'measured queries'],
      rows: rows.map((r) => [r.name, int(r.qps), times(r.ratio), ms(r.p50), ms(r.p99), int(r.queries)]),
      chart: rows.map((r) => ({ label: r.name, value: r.qps, note: r.name === 'dsql() tcp' ? 'baseline' : times(r.ratio) })),
      data: rows,
    };
  } finally {
    await Promise.all(Object.values(sqls).map((s) => s.end({ timeout: 5 }).catch(() => undefined)));
    await emu.stop();
  }
}
