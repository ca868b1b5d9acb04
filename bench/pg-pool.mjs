// Scenario `pg-pool`: `pool.query('SELECT 1')` throughput of @dsql/pg's DsqlPool against plain
// `pg.Pool` (a pre-signed token as a fixed password: the floor any wrapper adds cost to) and
// against AWS's `AuroraDSQLPool` (@aws/aurora-dsql-node-postgres-connector 0.1.x), all on the
// same @dsql/local endpoint, same TLS, same pool size. The DSQL pools get a credentials
// provider that costs CRED_MS per call, like IMDS or a container endpoint. Candidates alternate
// in one process over several rounds; we report medians, ratios against plain pg, and how
// many times each pool asked for credentials. Goal: DsqlPool ≥ 0.97 × plain pg.
// Traffic stays on 127.0.0.1; everything stops by itself.
//
//   pnpm --filter bench bench:pg          (ROUNDS, SECONDS, CLIENTS, MAX, CRED_MS to tune)
import { AuroraDSQLPool } from '@aws/aurora-dsql-node-postgres-connector';
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import { DsqlPool, dialAddress } from '@dsql/pg';
import { startDsqlLocal } from '@dsql/local';
import pg from 'pg';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SECONDS = Number(process.env.SECONDS ?? 1.5);
const CLIENTS = Number(process.env.CLIENTS ?? 16); // concurrent callers of pool.query
const MAX = Number(process.env.MAX ?? 8); // pool size
const CRED_MS = Number(process.env.CRED_MS ?? 5);

const dsql = await startDsqlLocal();
const pools = [];
try {
  /** A credentials provider that takes CRED_MS per call and counts its calls. */
  const slowCredentials = () => {
    const provider = async () => {
      provider.calls++;
      await new Promise((r) => setTimeout(r, CRED_MS));
      return { ...dsql.credentials };
    };
    provider.calls = 0;
    return provider;
  };
  const tls = { ca: dsql.ca, servername: dsql.host };
  const token = await new DsqlSigner({ hostname: dsql.host, region: dsql.region, credentials: dsql.credentials }).getDbConnectAdminAuthToken();

  const plain = new pg.Pool({ host: dsql.hostaddr, port: dsql.port, user: 'admin', database: 'postgres', password: token, ssl: tls, max: MAX });
  const dsqlCredentials = slowCredentials();
  const ours = new DsqlPool({ ...dsql.connectionOptions(), credentials: dsqlCredentials, max: MAX });
  const awsCredentials = slowCredentials();
  const aws = new AuroraDSQLPool({
    host: dsql.host,
    port: dsql.port,
    region: dsql.region,
    user: 'admin',
    database: 'postgres',
    ssl: tls,
    stream: dialAddress(dsql.hostaddr), // the cluster name does not resolve here: dial the emulator
    customCredentialsProvider: awsCredentials,
    max: MAX,
  });
  pools.push(plain, ours, aws);
  const candidates = { 'pg.Pool': plain, DsqlPool: ours, AuroraDSQLPool: aws };
  const credentialCalls = { 'pg.Pool': () => 0, DsqlPool: () => dsqlCredentials.calls, AuroraDSQLPool: () => awsCredentials.calls };

  /** Queries per second with CLIENTS callers each running `pool.query('SELECT 1')` back to back. */
  async function run(pool) {
    let n = 0;
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < until) {
          await pool.query('SELECT 1');
          n++;
        }
      }),
    );
    return n / SECONDS;
  }

  const names = Object.keys(candidates);
  for (const name of names) await run(candidates[name]); // warm up: connections, JIT
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
  // The ratio is the median of per-round ratios: each round runs the candidates back to back,
  // so load from other processes on the machine affects both sides of a ratio alike.
  const ratio = (name) => median(results[name].map((q, r) => q / results['pg.Pool'][r]));
  console.log(`pg-pool: ${ROUNDS} rounds × ${SECONDS}s, ${CLIENTS} callers, pool max ${MAX}, credentials ${CRED_MS} ms per call`);
  for (const name of names) {
    const m = median(results[name]);
    console.log(
      `  ${name.padEnd(15)} median ${String(Math.round(m)).padStart(6)} q/s  ${ratio(name).toFixed(3)}× pg.Pool` +
        `  credential calls ${credentialCalls[name]()} for ~${Math.round(queries[name])} measured queries` +
        `  rounds ${results[name].map(Math.round).join(' ')}`,
    );
  }
  console.log(`  goal: DsqlPool ≥ 0.97× pg.Pool`);
} finally {
  await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  await dsql.stop();
}
