// Scenario `proxy-overhead`: simple-query throughput through @dsql/local (TLS, token auth, the
// proxy's framing and SQL rules) against the same PostgreSQL dialled directly (plain TCP).
// Candidates alternate in one process over several rounds; we report medians and the ratio.
// Goal: proxy ≥ 70 % of direct. Traffic stays on 127.0.0.1; everything stops by itself.
//
//   pnpm --filter bench bench            (ROUNDS, SECONDS, CLIENTS, RULES=passthrough to tune)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import pg from 'pg';

const ROUNDS = Number(process.env.ROUNDS ?? 9);
const SECONDS = Number(process.env.SECONDS ?? 1);
const CLIENTS = Number(process.env.CLIENTS ?? 4);
const rules = process.env.RULES === 'passthrough' ? 'pass-through' : 'DSQL';

// EMULATOR=child (default): the emulator runs in its own process, as `dsql-local` does.
// EMULATOR=inprocess: in this process, as integration tests use it (client and proxy then share
// one event loop).
const mode = process.env.EMULATOR === 'inprocess' ? 'inprocess' : 'child';
let child;
let dsql;
if (mode === 'child') {
  const childOptions = JSON.stringify(process.env.RULES === 'passthrough' ? { rules: 'passthrough' } : {});
  child = spawn(process.execPath, [new URL('./lib/emulator-child.mjs', import.meta.url).pathname, childOptions], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: process.env,
  });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  dsql = JSON.parse(line);
} else {
  const { passThroughRules, startDsqlLocal } = await import('@dsql/local');
  dsql = await startDsqlLocal({ rules: process.env.RULES === 'passthrough' ? passThroughRules : undefined });
}
const pools = [];
try {
  const token = await new DsqlSigner({ hostname: dsql.host, region: dsql.region, credentials: dsql.credentials }).getDbConnectAdminAuthToken();
  const direct = new pg.Pool({ connectionString: dsql.upstreamUrl, max: CLIENTS });
  const proxy = new pg.Pool({
    host: dsql.hostaddr,
    port: dsql.port,
    user: 'admin',
    database: 'postgres',
    password: token,
    ssl: { ca: dsql.ca, servername: dsql.host },
    max: CLIENTS,
  });
  for (const pool of [direct, proxy]) pool.on('error', () => {});
  pools.push(direct, proxy);

  /** Queries per second with CLIENTS connections each running `SELECT 1` back to back. */
  async function run(pool) {
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => pool.connect()));
    let n = 0;
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      clients.map(async (c) => {
        while (performance.now() < until) {
          await c.query('SELECT 1');
          n++;
        }
      }),
    );
    for (const c of clients) c.release();
    return n / SECONDS;
  }

  // Warm up both paths (connections, TLS sessions, JIT).
  await run(direct);
  await run(proxy);
  const results = { direct: [], proxy: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['direct', 'proxy'] : ['proxy', 'direct'];
    for (const name of order) results[name].push(await run(name === 'direct' ? direct : proxy));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const d = median(results.direct);
  const p = median(results.proxy);
  console.log(`proxy-overhead: ${ROUNDS} rounds × ${SECONDS}s, ${CLIENTS} clients, rules: ${rules}, emulator: ${mode}`);
  console.log(`  direct PostgreSQL   median ${Math.round(d)} q/s   rounds ${results.direct.map(Math.round).join(' ')}`);
  console.log(`  through dsql-local  median ${Math.round(p)} q/s   rounds ${results.proxy.map(Math.round).join(' ')}`);
  console.log(`  ratio ${(p / d * 100).toFixed(1)} % of direct (goal ≥ 70 %)`);
} finally {
  await Promise.all(pools.map((pool) => pool.end()));
  if (child) {
    child.stdin.end();
    await once(child, 'exit');
  } else {
    await dsql.stop();
  }
}
