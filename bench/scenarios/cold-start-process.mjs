// 9. Cold start of a fresh process (issue 22), as in Lambda: a new `node` process imports the
// candidate, opens a pool and reads one row. Fresh processes alternate between candidates;
// figures are medians of process start → first row, of the CPU time (user + system) spent up to
// it, and of the import alone; ratios to the plain driver are medians of per-round ratios (each
// round runs every candidate once), so load from other work hits both sides of a ratio alike. Our connectors and
// AWS's read credentials from the environment (what Lambda provides); the plain drivers get a
// token signed beforehand (the floor). Bundle size: each candidate's entry bundled by esbuild
// for Node (minified), everything included; and for our connectors, with the SDK's credential
// chain left out (`--external`), as a Lambda bundle can: they load it only when no credentials
// were given and none are in the environment. AWS's connector imports the chain at load, so a
// bundle of it cannot leave it out.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { presignedToken } from '../lib/candidates.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, median, medianRatio, ms } from '../lib/measure.mjs';

export const id = 'cold-start-process';
export const title = 'Cold start of a fresh process: start → first row, import time, bundle size';

const CHILD = new URL('../lib/cold-start-child.mjs', import.meta.url).pathname;
const CANDIDATES = ['pg.Pool', 'DsqlPool', 'AuroraDSQLPool', 'postgres()', 'dsql()'];
const BASE = { 'pg.Pool': 'pg.Pool', DsqlPool: 'pg.Pool', AuroraDSQLPool: 'pg.Pool', 'postgres()': 'postgres()', 'dsql()': 'postgres()' };
/** What a bundle relying on explicit or environment credentials may leave out (our connectors load it only without them). */
const CHAIN = ['@aws-sdk/credential-provider-node', '@aws-sdk/credential-provider-ini'];
const CHAIN_OPTIONAL = new Set(['DsqlPool', 'dsql()']);
const ENTRY = { 'pg.Pool': 'pg', DsqlPool: '@dsql/pg', AuroraDSQLPool: '@aws/aurora-dsql-node-postgres-connector', 'postgres()': 'postgres', 'dsql()': '@dsql/postgres' };

function runChild(name, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, name], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      const line = /^RESULT (.*)$/m.exec(out);
      if (code !== 0 || !line) reject(new Error(`${name}: exit ${code}: ${err.slice(-400)}`));
      else resolve(JSON.parse(line[1]));
    });
  });
}

/** Bytes of the candidate's entry bundled by esbuild (esbuild resolved from @dsql/core's dev dependency). */
function bundleBytes(name, external = []) {
  const requireFromBench = createRequire(import.meta.url);
  const esbuild = join(dirname(createRequire(requireFromBench.resolve('@dsql/core/package.json')).resolve('esbuild/package.json')), 'bin', 'esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'cold-bundle-'));
  try {
    const entry = join(new URL('.', import.meta.url).pathname, `.bundle-entry-${process.pid}.mjs`);
    writeFileSync(entry, `export * from ${JSON.stringify(ENTRY[name])};\n`);
    try {
      execFileSync(esbuild, [entry, '--bundle', '--platform=node', '--format=esm', '--minify', '--log-level=error', `--outfile=${join(dir, 'out.mjs')}`, '--external:pg-native', '--external:pg-cloudflare', ...external.map((e) => `--external:${e}`)]);
    } finally {
      rmSync(entry, { force: true });
    }
    return statSync(join(dir, 'out.mjs')).size;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;

export async function run({ quick, log }) {
  const rounds = quick ? 3 : 15;
  const emu = await startEmulator();
  try {
    const token = await presignedToken(emu);
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      AWS_ACCESS_KEY_ID: emu.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: emu.credentials.secretAccessKey,
      ...(emu.credentials.sessionToken ? { AWS_SESSION_TOKEN: emu.credentials.sessionToken } : {}),
      AWS_REGION: emu.region,
      COLD_TOKEN: token,
      COLD_EMULATOR: JSON.stringify({ host: emu.host, hostaddr: emu.hostaddr, port: emu.port, region: emu.region, ca: emu.ca }),
    };
    for (const name of CANDIDATES) await runChild(name, env); // warm the file cache
    const perRound = await alternate(CANDIDATES, rounds, (name) => runChild(name, env));
    const rows = CANDIDATES.map((name) => {
      const r = perRound[name];
      return {
        name,
        firstRow: median(r.map((x) => x.firstRowAt)),
        cpuMs: median(r.map((x) => x.cpuMs)),
        importMs: median(r.map((x) => x.importMs)),
        firstRowRatio: medianRatio(perRound, name, BASE[name], (x) => x.firstRowAt),
        cpuRatio: medianRatio(perRound, name, BASE[name], (x) => x.cpuMs),
        bytes: bundleBytes(name),
        bytesNoChain: CHAIN_OPTIONAL.has(name) ? bundleBytes(name, CHAIN) : undefined,
      };
    });
    for (const r of rows) {
      log(`  ${r.name.padEnd(15)} start → first row ${ms(r.firstRow)} ms (${r.firstRowRatio.toFixed(2)}×)  CPU ${ms(r.cpuMs)} ms (${r.cpuRatio.toFixed(2)}×)  import ${ms(r.importMs)} ms  bundle ${kib(r.bytes)}${r.bytesNoChain ? ` (credential chain left out: ${kib(r.bytesNoChain)})` : ''}`);
    }
    return {
      setup: `${rounds} fresh processes per candidate, alternating; environment credentials for the connectors, a pre-signed token for the plain drivers; pool of 1, \`SELECT 1\`; ratios are medians of per-round ratios`,
      columns: ['candidate', 'start → first row (median ms)', '× plain driver', 'CPU to first row (median ms)', 'CPU × plain driver', 'import (median ms)', 'bundle (esbuild, minified)', 'bundle, credential chain left out'],
      rows: rows.map((r) => [r.name, ms(r.firstRow), r.firstRowRatio.toFixed(2), ms(r.cpuMs), r.cpuRatio.toFixed(2), ms(r.importMs), kib(r.bytes), r.bytesNoChain ? kib(r.bytesNoChain) : '—']),
      data: rows,
    };
  } finally {
    await emu.stop();
  }
}
