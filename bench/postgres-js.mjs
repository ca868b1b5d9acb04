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
import { startDsqlLocal } from '@dsql/local';
import postgres from 'postgres';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SECONDS = Number(process.env.SECONDS ?? 1.5);
const CLIENTS = Number(process.env.CLIENTS ?? 16); // concurrent callers
const MAX = Number(process.env.MAX ?? 8); // pool size
const CRED_MS = Number(process.env.CRED_MS ?? 5);

const local = await startDsqlLocal();
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
  const ours = dsql({ ...local.connectionOptions(), credentials: slowCredentials, max: MAX });
  clients.push(plain, ours);
  const candidates = { 'postgres()': plain, 'dsql()': ours };

  /** Queries per second with CLIENTS callers each running a one-parameter query back to back. */
  async function run(sql) {
    let n = 0;
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        while (performance.now() < until) {
          await sql`select ${i}::int as i`;
          n++;
        }
      }),
    );
    return n / SECONDS;
  }

  const names = Object.keys(candidates);
  for (const name of names) await run(candidates[name]); // warm up: connections, prepared statements, JIT
  const results = Object.fromEntries(names.map((n) => [n, []]));
  const queries = Object.fromEntries(names.map((n) => [n, 0]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const qps = await run(candidates[name]);
      results[name].push(qps);
      queries[name] += qps * SECONDS;
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // Median of per-round ratios: each round runs both back to back, so load from other
  // processes on the machine affects both sides of a ratio alike.
  const ratio = (name) => median(results[name].map((q, r) => q / results['postgres()'][r]));
  console.log(`postgres-js: ${ROUNDS} rounds × ${SECONDS}s, ${CLIENTS} callers, max ${MAX}, credentials ${CRED_MS} ms per call`);
  for (const name of names) {
    console.log(
      `  ${name.padEnd(11)} median ${String(Math.round(median(results[name]))).padStart(6)} q/s  ${ratio(name).toFixed(3)}× postgres()` +
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
