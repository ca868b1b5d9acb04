// `pnpm bench`: runs the scenarios one after another, prints as it goes, and writes
// results.md, results.svg and results.json — a full run here, a smoke run (--quick) or a chosen
// subset of scenarios into .tmp/, so neither ever replaces the committed numbers.
//
//   node run.mjs [--quick] [scenario …]      scenarios: proxy-overhead steady instrumentation signing cold-start recycling storm occ fleet-storm cold-start-process failover websocket
//                                            (and, only when named: instrumentation-causes)
//   EMULATOR=inprocess node run.mjs steady   the emulator in this process instead of a child
//
// Traffic stays on 127.0.0.1; every emulator and pool is stopped when its scenario ends.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { barChart, markdown } from './lib/report.mjs';

const SCENARIOS = ['proxy-overhead', 'steady', 'instrumentation', 'signing', 'cold-start', 'recycling', 'storm', 'occ', 'fleet-storm', 'cold-start-process', 'failover', 'websocket'];
/** Run only when named (an investigation, not a headline number). */
const ON_REQUEST = ['instrumentation-causes'];
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const chosen = args.filter((a) => !a.startsWith('--'));
for (const name of chosen) {
  if (!SCENARIOS.includes(name) && !ON_REQUEST.includes(name)) {
    console.error(`bench: unknown scenario ${JSON.stringify(name)} (accepted: ${[...SCENARIOS, ...ON_REQUEST].join(', ')})`);
    process.exit(2);
  }
}
const selected = chosen.length ? [...SCENARIOS, ...ON_REQUEST].filter((s) => chosen.includes(s)) : SCENARIOS;
const outDir = new URL(quick || chosen.length ? './.tmp/' : './', import.meta.url);
mkdirSync(outDir, { recursive: true });

const started = new Date();
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}, load average ${os.loadavg()[0].toFixed(1)} at start, Node ${process.version}, ${os.platform()}`;
console.log(`bench${quick ? ' --quick' : ''}: ${selected.join(', ')} — ${machine}`);
const results = [];
let failed = false;
for (const id of selected) {
  const scenario = await import(`./scenarios/${id}.mjs`);
  console.log(`\n${scenario.title} (${id})`);
  const t = performance.now();
  try {
    const r = await scenario.run({ quick, log: (line) => console.log(line) });
    results.push({ id, title: scenario.title, ...r, seconds: (performance.now() - t) / 1000 });
  } catch (err) {
    failed = true;
    console.error(`  failed: ${err?.stack ?? err}`);
    results.push({ id, title: scenario.title, error: String(err?.message ?? err), seconds: (performance.now() - t) / 1000 });
  }
  console.log(`  (${((performance.now() - t) / 1000).toFixed(1)} s)`);
}
const steady = results.find((r) => r.id === 'steady' && !r.error);
const chartFile = steady ? 'results.svg' : undefined;
if (steady) {
  const family = Object.fromEntries(steady.data.map((d) => [d.name, d.name.startsWith('postgres') || d.name.startsWith('dsql(') ? 'postgres' : 'pg']));
  writeFileSync(new URL(chartFile, outDir), barChart({ title: 'Steady SELECT throughput (16 callers, pool of 8, credentials 5 ms/call)', unit: 'q/s', bars: steady.chart.map((b) => ({ ...b, family: family[b.label] })) }));
}
writeFileSync(new URL('results.md', outDir), markdown({ results, started, quick, machine, chartFile }));
writeFileSync(new URL('results.json', outDir), `${JSON.stringify({ started, quick, machine, results: results.map(({ rows, columns, chart, ...rest }) => rest) }, null, 2)}\n`);
const total = (Date.now() - started.getTime()) / 1000;
console.log(`\nwrote ${new URL('results.md', outDir).pathname} (${total.toFixed(0)} s in all)`);
process.exit(failed ? 1 : 0);
