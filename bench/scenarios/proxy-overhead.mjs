// 0. Proxy overhead (context for every other number): `SELECT 1` throughput with plain pg through
// @dsql/local (TLS, token-authenticated session, framing, DSQL's SQL rules) against the same
// PostgreSQL dialled directly over plain TCP. Goal (issue #3): proxy ≥ 70 % of direct.
//
// PostgreSQL is also dialled directly over TLS (the scenario turns on its `ssl` with a throwaway
// certificate): the same encryption on the client's side as through any DSQL endpoint.
//
// Two bare relays in their own process run alongside as ceilings: one copies bytes between a TCP
// client and PostgreSQL's Unix socket (the cost of one more process on the path), the other also
// terminates TLS (the least any TLS-terminating proxy written in Node can cost here, which DSQL's
// mandatory TLS makes @dsql/local one of). Where /proc exists, CPU time per query is read for the
// client, the middle process and PostgreSQL: unlike q/s it hardly moves with load from elsewhere.
import { readFileSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { presignedToken } from '../lib/candidates.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { alternate, int, median, medianRatio } from '../lib/measure.mjs';
import { startRelay } from '../lib/relay.mjs';
import { selfSigned } from '../lib/self-signed.mjs';

export const id = 'proxy-overhead';
export const title = 'Emulator overhead: through @dsql/local vs PostgreSQL directly';

const DIRECT = 'direct';
const DIRECT_TLS = 'direct, TLS';
const RELAY = 'bare relay';
const TLS_RELAY = 'bare TLS relay';
const LOCAL = 'through dsql-local';

/** CPU time (ms) a process used so far, from /proc; undefined where there is no /proc. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return undefined;
  }
}

/** The parent of `pid` (from /proc). */
function parentOf(pid) {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
}

/** CPU ms of one PostgreSQL server: its postmaster and every process it started. */
function postgresCpuMs(postmaster) {
  let total = cpuMs(postmaster) ?? 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (parentOf(pid) === postmaster) total += cpuMs(pid) ?? 0;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/**
 * Turns on TLS in the emulator's private PostgreSQL (superuser session): the certificate and key
 * are written into its data directory as large objects exported by the server itself (so they
 * belong to the server's OS user with its umask), then `ssl = on` and a reload.
 */
async function enableServerTls(pool, { cert, key }) {
  const [{ data_directory: dataDir }] = (await pool.query('SHOW data_directory')).rows;
  for (const [file, pem] of [['bench-server.crt', cert], ['bench-server.key', key]]) {
    const [{ oid }] = (await pool.query('SELECT lo_from_bytea(0, $1::bytea) AS oid', [Buffer.from(pem)])).rows;
    await pool.query('SELECT lo_export($1::oid, $2)', [oid, `${dataDir}/${file}`]);
    await pool.query('SELECT lo_unlink($1::oid)', [oid]);
    // PostgreSQL refuses a key file others can read; lo_export leaves it 0644.
    await pool.query(`COPY (SELECT 1) TO PROGRAM 'chmod 600 "${dataDir}/${file}"'`);
  }
  await pool.query(`ALTER SYSTEM SET ssl_cert_file = '${dataDir}/bench-server.crt'`);
  await pool.query(`ALTER SYSTEM SET ssl_key_file = '${dataDir}/bench-server.key'`);
  await pool.query('ALTER SYSTEM SET ssl = on');
  await pool.query('SELECT pg_reload_conf()');
  // The postmaster loads the certificate on reload; a new connection then gets it.
  for (let i = 0; ; i++) {
    const probe = new pg.Client({ ...pool.options, ssl: { ca: cert, servername: 'localhost' } });
    try {
      await probe.connect();
      return;
    } catch (err) {
      if (i >= 50) throw new Error(`PostgreSQL did not turn on TLS: ${err.message}`);
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      await probe.end().catch(() => {});
    }
  }
}

export async function run({ quick, log }) {
  const rounds = quick ? 2 : 5;
  const seconds = quick ? 0.3 : 1;
  const clients = 4;
  const hasProc = cpuMs(process.pid) !== undefined;
  const emu = await startEmulator(process.env.RULES === 'passthrough' ? { rules: 'passthrough' } : {});
  const pools = {};
  const relays = [];
  try {
    const token = await presignedToken(emu);
    const up = new URL(emu.upstreamUrl);
    pools[DIRECT] = new pg.Pool({ connectionString: emu.upstreamUrl, max: clients });
    const [{ unix_socket_directories: dirs }] = (await pools[DIRECT].query('SHOW unix_socket_directories')).rows;
    const dir = dirs.split(',')[0]?.trim();
    const upstream = dir ? { path: `${dir}/.s.PGSQL.${up.port}` } : { host: up.hostname, port: Number(up.port) };
    const postmaster = hasProc ? parentOf((await pools[DIRECT].query('SELECT pg_backend_pid() AS pid')).rows[0].pid) : 0;
    const material = await selfSigned();
    await enableServerTls(pools[DIRECT], material);
    const relay = await startRelay({ upstream });
    const tlsRelay = await startRelay({ upstream, tls: material });
    relays.push(relay, tlsRelay);
    const asUpstream = { user: decodeURIComponent(up.username), password: decodeURIComponent(up.password), database: 'postgres', max: clients };
    pools[DIRECT_TLS] = new pg.Pool({ connectionString: emu.upstreamUrl, max: clients, ssl: { ca: material.cert, servername: 'localhost' } });
    pools[RELAY] = new pg.Pool({ host: '127.0.0.1', port: relay.port, ...asUpstream });
    pools[TLS_RELAY] = new pg.Pool({ host: '127.0.0.1', port: tlsRelay.port, ...asUpstream, ssl: { ca: material.cert, servername: 'localhost' } });
    pools[LOCAL] = new pg.Pool({ host: emu.hostaddr, port: emu.port, user: 'admin', database: 'postgres', password: token, ssl: { ca: emu.ca, servername: emu.host }, max: clients });
    const middle = { [DIRECT]: undefined, [DIRECT_TLS]: undefined, [RELAY]: relay.pid, [TLS_RELAY]: tlsRelay.pid, [LOCAL]: emu.pid };
    for (const pool of Object.values(pools)) pool.on('error', () => {});
    const names = Object.keys(pools);
    const measure = async (name) => {
      const conns = await Promise.all(Array.from({ length: clients }, () => pools[name].connect()));
      let n = 0;
      const mid = middle[name];
      const before = hasProc && { client: process.cpuUsage(), middle: mid ? cpuMs(mid) : 0, postgres: postgresCpuMs(postmaster) };
      const until = performance.now() + seconds * 1000;
      await Promise.all(
        conns.map(async (c) => {
          while (performance.now() < until) {
            await c.query('SELECT 1');
            n++;
          }
        }),
      );
      const cpu = before && {
        client: (() => {
          const u = process.cpuUsage(before.client);
          return (u.user + u.system) / n;
        })(),
        middle: mid ? ((cpuMs(mid) - before.middle) * 1000) / n : 0,
        postgres: ((postgresCpuMs(postmaster) - before.postgres) * 1000) / n,
      };
      for (const c of conns) c.release();
      return { qps: n / seconds, cpu };
    };
    for (const name of names) await measure(name);
    const perRound = await alternate(names, rounds, measure);
    const qps = (x) => x.qps;
    const rows = names.map((name) => {
      const runs = perRound[name];
      const cpu = hasProc ? Object.fromEntries(['client', 'middle', 'postgres'].map((k) => [k, median(runs.map((r) => r.cpu[k]))])) : undefined;
      return {
        name,
        qps: median(runs.map(qps)),
        ratio: medianRatio(perRound, name, DIRECT, qps),
        ofDirectTls: medianRatio(perRound, name, DIRECT_TLS, qps),
        ofTlsRelay: medianRatio(perRound, name, TLS_RELAY, qps),
        cpu,
        rounds: runs.map((r) => Math.round(r.qps)),
      };
    });
    const us = (v) => v.toFixed(1);
    const cpuText = (r) => (r.cpu ? `${us(r.cpu.client)} / ${!middle[r.name] ? '–' : us(r.cpu.middle)} / ${us(r.cpu.postgres)} (${us(r.cpu.client + r.cpu.middle + r.cpu.postgres)})` : 'n/a');
    for (const r of rows) log(`  ${r.name.padEnd(20)} ${int(r.qps).padStart(7)} q/s  ${(r.ratio * 100).toFixed(1).padStart(5)} % of direct  ${(r.ofDirectTls * 100).toFixed(1).padStart(5)} % of direct TLS  ${(r.ofTlsRelay * 100).toFixed(1).padStart(5)} % of TLS relay  CPU µs/query client/middle/pg ${cpuText(r)}  rounds ${r.rounds.join(' ')}`);
    return {
      setup: `${rounds} rounds × ${seconds} s, ${clients} connections each running \`SELECT 1\` back to back (plain pg, simple protocol); SQL rules: ${process.env.RULES === 'passthrough' ? 'pass-through' : 'DSQL'}; relays and the emulator each in their own process, to PostgreSQL's ${upstream.path ? 'Unix socket' : 'TCP port'}; CPU µs per query from /proc (median over rounds). Goal: @dsql/local ≥ 70 % of direct`,
      columns: ['path', 'median q/s', '% of direct', '% of direct, TLS', '% of bare TLS relay', 'CPU µs/query: client / middle / PostgreSQL (sum)', 'q/s per round'],
      rows: rows.map((r) => [r.name, int(r.qps), `${(r.ratio * 100).toFixed(1)} %`, `${(r.ofDirectTls * 100).toFixed(1)} %`, `${(r.ofTlsRelay * 100).toFixed(1)} %`, cpuText(r), r.rounds.join(' ')]),
      data: rows,
    };
  } finally {
    await Promise.all(Object.values(pools).map((p) => p.end().catch(() => undefined)));
    await Promise.all(relays.map((r) => r.stop()));
    await emu.stop();
  }
}
