// Scenario `postgres-js`: query throughput of @dsql/postgres's `dsql()` against plain
// `postgres()` (a pre-signed token as a fixed password and Postgres.js's own TLS: the floor any
// wrapper adds cost to), both on the same @dsql/local endpoint, same pool size, same CA.
// `dsql()` gets a credentials provider that costs CRED_MS per call, like IMDS or a container
// endpoint, and runs its connections through its own TLS + IAM handshake under the driver.
// Candidates alternate in one process over several rounds; we report medians, the median of
// per-round ratios against plain postgres(), and how many times dsql() asked for credentials.
// Goal: dsql() ≥ 0.97 × postgres(). Traffic stays on 127.0.0.1; everything stops by itself.
//
//   pnpm --filter @dsql/local --filter @dsql/core --filter @dsql/postgres build
//   pnpm --filter bench bench:postgres     (ROUNDS, SECONDS, CLIENTS, MAX, CRED_MS to tune)
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import { dsql, dsqlStats } from '@dsql/postgres';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';
import postgres from 'postgres';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SECONDS = Number(process.env.SECONDS ?? 1.5);
const CLIENTS = Number(process.env.CLIENTS ?? 16); // concurrent callers
const MAX = Number(process.env.MAX ?? 8); // pool size
const CRED_MS = Number(process.env.CRED_MS ?? 5);

// EMULATOR=child (default): the emulator runs in its own process (as `dsql-local` does), so the
// client side is what is measured. EMULATOR=inprocess: in this process, as tests use it.
let child;
let local;
if (process.env.EMULATOR === 'inprocess') {
  const { startDsqlLocal } = await import('@dsql/local');
  local = await startDsqlLocal();
} else {
  child = spawn(process.execPath, [new URL('./emulator-child.mjs', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  const info = JSON.parse(line);
  local = {
    ...info,
    connectionOptions: () => ({ host: info.host, hostaddr: info.hostaddr, port: info.port, region: info.region, user: 'admin', database: 'postgres', credentials: info.credentials, ssl: { ca: info.ca } }),
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
const clients = [];
try {
  let credentialCalls = 0;
  const slowCredentials = async () => {
    credentialCalls++;
    await new Promise((r) => setTimeout(r, CRED_MS));
    return { ...local.credentials };
  };
  const token = await new DsqlSigner({ hostname: local.host, region: local.region, credentials: local.credentials }).getDbConnectAdminAuthToken();

  const plain = postgres({
    host: local.hostaddr,
    port: local.port,
    user: 'admin',
    database: 'postgres',
    pass: token,
    ssl: { ca: local.ca, servername: local.host },
    max: MAX,
  });
  // The same, with TCP_NODELAY on its sockets as dsql()'s dialer sets it: separates what
  // Nagle's algorithm costs plain Postgres.js from what the adapter itself costs.
  const plainNoDelay = postgres({
    host: local.hostaddr,
    port: local.port,
    user: 'admin',
    database: 'postgres',
    pass: token,
    ssl: { ca: local.ca, servername: local.host },
    max: MAX,
    socket: () =>
      new Promise((resolve, reject) => {
        const socket = net.connect(local.port, local.hostaddr);
        socket.setNoDelay(true);
        socket.once('connect', () => resolve(socket)).once('error', reject);
      }),
  });
  const ours = dsql({ ...local.connectionOptions(), credentials: slowCredentials, max: MAX });
  clients.push(plain, plainNoDelay, ours);
  const candidates = { 'postgres()': plain, 'postgres() nodelay': plainNoDelay, 'dsql()': ours };

  /** Queries per second with CLIENTS callers each running a one-parameter query back to back. */
  async function run(sql, name) {
    let n = 0;
    const cpu = process.cpuUsage();
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        while (performance.now() < until) {
          await sql`select ${i}::int as i`;
          n++;
        }
      }),
    );
    const used = process.cpuUsage(cpu);
    if (name) cpuPerQuery[name].push((used.user + used.system) / n);
    return n / SECONDS;
  }

  const names = Object.keys(candidates);
  // Client CPU time per query (µs): far less sensitive than throughput to other load on the
  // machine, and with the emulator in its own process it is the adapter's cost.
  const cpuPerQuery = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) await run(candidates[name]); // warm up: connections, prepared statements, JIT
  const results = Object.fromEntries(names.map((n) => [n, []]));
  const queries = Object.fromEntries(names.map((n) => [n, 0]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const qps = await run(candidates[name], name);
      results[name].push(qps);
      queries[name] += qps * SECONDS;
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // Median of per-round ratios: each round runs both back to back, so load from other
  // processes on the machine affects both sides of a ratio alike.
  const ratio = (name, base = 'postgres()') => median(results[name].map((q, r) => q / results[base][r]));
  const cpuRatio = (name) => median(cpuPerQuery[name].map((c, r) => c / cpuPerQuery['postgres()'][r]));
  console.log(`postgres-js (emulator ${child ? 'in a child process' : 'in process'}): ${ROUNDS} rounds × ${SECONDS}s, ${CLIENTS} callers, max ${MAX}, credentials ${CRED_MS} ms per call`);
  for (const name of names) {
    console.log(
      `  ${name.padEnd(19)} median ${String(Math.round(median(results[name]))).padStart(6)} q/s  ${ratio(name).toFixed(3)}× postgres()  ${ratio(name, 'postgres() nodelay').toFixed(3)}× nodelay` +
        `  client CPU ${median(cpuPerQuery[name]).toFixed(1)} µs/query (${cpuRatio(name).toFixed(3)}× postgres())` +
        `  ~${Math.round(queries[name])} measured queries  rounds ${results[name].map(Math.round).join(' ')}`,
    );
  }
  const stats = dsqlStats(ours);
  console.log(
    `  dsql(): credential provider calls ${credentialCalls}, token signings ${stats.tokens.signings}, connections opened ${stats.connections.opened}`,
  );
  console.log('  goal: dsql() ≥ 0.97× postgres()');
} finally {
  await Promise.all(clients.map((sql) => sql.end({ timeout: 5 }).catch(() => undefined)));
  await local.stop();
}
