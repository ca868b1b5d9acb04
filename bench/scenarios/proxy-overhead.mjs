// 0. Proxy overhead (context for every other number): simple-query `SELECT 1` throughput with
// plain drivers through @dsql/local (TLS, token-authenticated session, framing, DSQL's SQL rules)
// against the same PostgreSQL dialled directly over plain TCP. Goal (issue #3): proxy ≥ 70 % of
// direct. Two workloads: ping-pong (node-postgres, each connection waits for its answer: bound by
// the latency of every hop) and pipelined (Postgres.js, many callers on few connections: bound by
// how much work each query costs).
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
import postgres from 'postgres';
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

/**
 * One candidate path under one workload: `open()` makes its connections ready, `run(until)`
 * issues queries until the deadline and returns how many completed, `close()` ends it.
 */
function pingPong(pool, clients) {
  let conns = [];
  return {
    open: async () => {
      conns = await Promise.all(Array.from({ length: clients }, () => pool.connect()));
    },
    run: async (until) => {
      let n = 0;
      await Promise.all(
        conns.map(async (c) => {
          while (performance.now() < until) {
            await c.query('SELECT 1');
            n++;
          }
        }),
      );
      return n;
    },
    release: () => {
      for (const c of conns) c.release();
      conns = [];
    },
    close: () => pool.end(),
  };
}

/** Postgres.js pipelines: `callers` loops share `max` connections, simple protocol (`.simple()`). */
function pipelined(sql, callers) {
  return {
    open: async () => {
      await Promise.all(Array.from({ length: callers }, () => sql`SELECT 1`.simple()));
    },
    run: async (until) => {
      let n = 0;
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (performance.now() < until) {
            await sql`SELECT 1`.simple();
            n++;
          }
        }),
      );
      return n;
    },
    release: () => {},
    close: () => sql.end({ timeout: 5 }),
  };
}

export async function run({ quick, log }) {
  const rounds = quick ? 2 : 5;
  const seconds = quick ? 0.3 : 1;
  const clients = 4;
  const callers = 64;
  const hasProc = cpuMs(process.pid) !== undefined;
  const emu = await startEmulator(process.env.RULES === 'passthrough' ? { rules: 'passthrough' } : {});
  const paths = [];
  const relays = [];
  const admin = new pg.Pool({ connectionString: emu.upstreamUrl, max: 1 });
  try {
    const token = await presignedToken(emu);
    const up = new URL(emu.upstreamUrl);
    const [{ unix_socket_directories: dirs }] = (await admin.query('SHOW unix_socket_directories')).rows;
    const dir = dirs.split(',')[0]?.trim();
    const upstream = dir ? { path: `${dir}/.s.PGSQL.${up.port}` } : { host: up.hostname, port: Number(up.port) };
    const postmaster = hasProc ? parentOf((await admin.query('SELECT pg_backend_pid() AS pid')).rows[0].pid) : 0;
    const material = await selfSigned();
    await enableServerTls(admin, material);
    const relay = await startRelay({ upstream });
    const tlsRelay = await startRelay({ upstream, tls: material });
    relays.push(relay, tlsRelay);
    const user = decodeURIComponent(up.username);
    const password = decodeURIComponent(up.password);
    const ownTls = { ca: material.cert, servername: 'localhost' };
    const dsqlTls = { ca: emu.ca, servername: emu.host };
    // Where each path connects: [host, port, user, password, ssl, middle process].
    const targets = {
      [DIRECT]: ['127.0.0.1', Number(up.port), user, password, false, undefined],
      [DIRECT_TLS]: ['127.0.0.1', Number(up.port), user, password, ownTls, undefined],
      [RELAY]: ['127.0.0.1', relay.port, user, password, false, relay.pid],
      [TLS_RELAY]: ['127.0.0.1', tlsRelay.port, user, password, ownTls, tlsRelay.pid],
      [LOCAL]: [emu.hostaddr, emu.port, 'admin', token, dsqlTls, emu.pid],
    };
    const workloads = [
      {
        id: 'ping-pong',
        what: `node-postgres, ${clients} connections, each sends \`SELECT 1\` when the last answer is in (latency-bound: every query crosses each hop twice)`,
        paths: [DIRECT, DIRECT_TLS, RELAY, TLS_RELAY, LOCAL],
        make: ([host, port, u, pw, ssl]) => pingPong(new pg.Pool({ host, port, user: u, password: pw, database: 'postgres', ssl, max: clients }), clients),
      },
      {
        id: 'pipelined',
        what: `Postgres.js, ${clients} connections shared by ${callers} callers, \`SELECT 1\` over the simple protocol, pipelined (throughput-bound)`,
        paths: [DIRECT, DIRECT_TLS, TLS_RELAY, LOCAL],
        make: ([host, port, u, pw, ssl]) => pipelined(postgres({ host, port, user: u, pass: pw, database: 'postgres', ssl, max: clients, onnotice: () => {} }), callers),
      },
    ];
    const rows = [];
    for (const w of workloads) {
      const cands = Object.fromEntries(w.paths.map((name) => [name, w.make(targets[name])]));
      paths.push(...Object.values(cands));
      const measure = async (name) => {
        const c = cands[name];
        await c.open();
        const mid = targets[name][5];
        const before = hasProc && { client: process.cpuUsage(), middle: mid ? cpuMs(mid) : 0, postgres: postgresCpuMs(postmaster) };
        const n = await c.run(performance.now() + seconds * 1000);
        const cpu = before && {
          client: (() => {
            const u = process.cpuUsage(before.client);
            return (u.user + u.system) / n;
          })(),
          middle: mid ? ((cpuMs(mid) - before.middle) * 1000) / n : 0,
          postgres: ((postgresCpuMs(postmaster) - before.postgres) * 1000) / n,
        };
        c.release();
        return { qps: n / seconds, cpu };
      };
      for (const name of w.paths) await measure(name);
      const perRound = await alternate(w.paths, rounds, measure);
      const qps = (x) => x.qps;
      for (const name of w.paths) {
        const runs = perRound[name];
        const cpu = hasProc ? Object.fromEntries(['client', 'middle', 'postgres'].map((k) => [k, median(runs.map((r) => r.cpu[k]))])) : undefined;
        rows.push({
          workload: w.id,
          name,
          qps: median(runs.map(qps)),
          ratio: medianRatio(perRound, name, DIRECT, qps),
          ofDirectTls: medianRatio(perRound, name, DIRECT_TLS, qps),
          ofTlsRelay: medianRatio(perRound, name, TLS_RELAY, qps),
          cpu,
          middle: Boolean(targets[name][5]),
          rounds: runs.map((r) => Math.round(r.qps)),
        });
      }
    }
    const pct = (v) => `${(v * 100).toFixed(1)} %`;
    const us = (v) => v.toFixed(1);
    const cpuText = (r) => (r.cpu ? `${us(r.cpu.client)} / ${r.middle ? us(r.cpu.middle) : '–'} / ${us(r.cpu.postgres)} (${us(r.cpu.client + r.cpu.middle + r.cpu.postgres)})` : 'n/a');
    for (const r of rows) log(`  ${r.workload.padEnd(10)} ${r.name.padEnd(19)} ${int(r.qps).padStart(7)} q/s  ${pct(r.ratio).padStart(7)} of direct  ${pct(r.ofDirectTls).padStart(7)} of direct TLS  ${pct(r.ofTlsRelay).padStart(7)} of TLS relay  CPU µs/q client/middle/pg ${cpuText(r)}  rounds ${r.rounds.join(' ')}`);
    return {
      setup: `${rounds} rounds × ${seconds} s per path, paths alternating. Workloads: ${workloads.map((w) => `**${w.id}** — ${w.what}`).join('; ')}. SQL rules: ${process.env.RULES === 'passthrough' ? 'pass-through' : 'DSQL'}. The relays and the emulator each run in their own process and reach PostgreSQL's ${upstream.path ? 'Unix socket' : 'TCP port'}; "direct, TLS" is the same server with \`ssl = on\`. CPU µs per query from /proc (median over rounds). Goal: @dsql/local ≥ 70 % of direct`,
      columns: ['workload', 'path', 'median q/s', '% of direct', '% of direct, TLS', '% of bare TLS relay', 'CPU µs/query: client / middle / PostgreSQL (sum)', 'q/s per round'],
      rows: rows.map((r) => [r.workload, r.name, int(r.qps), pct(r.ratio), pct(r.ofDirectTls), pct(r.ofTlsRelay), cpuText(r), r.rounds.join(' ')]),
      data: rows,
    };
  } finally {
    await Promise.all(paths.map((p) => p.close().catch(() => undefined)));
    await admin.end().catch(() => undefined);
    await Promise.all(relays.map((r) => r.stop()));
    await emu.stop();
  }
}
