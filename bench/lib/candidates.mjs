// The candidates every scenario compares, behind one small interface, all on the same
// @dsql/local endpoint with the same TLS (verify-full against the cluster name, the emulator's CA):
//
//   pg family        pg.Pool (plain node-postgres, a pre-signed token as a fixed password: the floor
//                    any connector adds cost to) · DsqlPool (@dsql/pg) · AuroraDSQLPool (AWS's
//                    @aws/aurora-dsql-node-postgres-connector)
//   postgres family  postgres() (plain Postgres.js, pre-signed token) · dsql() (@dsql/postgres)
//
// AWS's Postgres.js connector (@aws/aurora-dsql-postgresjs-connector) is not on the npm registry
// reachable here (`npm view` answers 404), so it has no candidate.
//
// The connectors get a credential provider that costs `credMs` per call (as the ECS/EKS container
// endpoint or IMDS do); the plain drivers get a token signed once up front.
import { AuroraDSQLPool } from '@aws/aurora-dsql-node-postgres-connector';
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import { DsqlPool, dialAddress } from '@dsql/pg';
import { dsql, dsqlStats, transaction } from '@dsql/postgres';
import pg from 'pg';
import postgres from 'postgres';
import { slowCredentials } from './measure.mjs';

/** Names of every candidate, in report order, and the plain driver each is compared with. */
export const CANDIDATES = ['pg.Pool', 'DsqlPool', 'AuroraDSQLPool', 'postgres()', 'dsql()'];
export const BASELINE = { 'pg.Pool': 'pg.Pool', DsqlPool: 'pg.Pool', AuroraDSQLPool: 'pg.Pool', 'postgres()': 'postgres()', 'dsql()': 'postgres()' };

const DEBIT = 'UPDATE accounts SET balance = balance - $1 WHERE id = $2';
const CREDIT = 'UPDATE accounts SET balance = balance + $1 WHERE id = $2';

/** A token for the emulator signed once, as a plain driver's fixed password. */
export function presignedToken(emu) {
  return new DsqlSigner({ hostname: emu.host, region: emu.region, credentials: emu.credentials, expiresIn: 3600 }).getDbConnectAdminAuthToken();
}

/**
 * Creates one candidate.
 *
 * @param {string} name one of CANDIDATES
 * @param {object} emu the emulator (lib/emulator.mjs)
 * @param {{ max?: number, credMs?: number, token?: string, lifetime?: [number, number],
 *   connectTimeoutSeconds?: number }} options `lifetime`: max connection age window in seconds
 *   (the plain drivers and AWS's pool take its lower bound, having no window)
 * @returns {Promise<Candidate>} with `query()`, `reserve()`, `transact()` (one transaction running
 *   `SELECT 1`: the connector's transaction API, plain `BEGIN…COMMIT` otherwise), `transfer(from, to, amount)`,
 *   `credentialCalls()`, `poolErrors()` and `end()`
 */
export async function createCandidate(name, emu, options = {}) {
  const { max = 8, credMs = 5, lifetime, connectTimeoutSeconds = 30 } = options;
  const tls = { ca: emu.ca, servername: emu.host };
  const credentials = slowCredentials(emu.credentials, credMs);
  const token = name === 'pg.Pool' || name === 'postgres()' ? (options.token ?? (await presignedToken(emu))) : undefined;
  let poolErrors = 0;

  if (name === 'pg.Pool' || name === 'DsqlPool' || name === 'AuroraDSQLPool') {
    const common = { max, connectionTimeoutMillis: connectTimeoutSeconds * 1000 };
    let pool;
    if (name === 'pg.Pool') {
      pool = new pg.Pool({ host: emu.hostaddr, port: emu.port, user: 'admin', database: 'postgres', password: token, ssl: tls, ...common, ...(lifetime && { maxLifetimeSeconds: lifetime[0] }) });
    } else if (name === 'DsqlPool') {
      pool = new DsqlPool({ ...emu.connectionOptions(), credentials, ...common, ...(lifetime && { maxLifetimeSeconds: lifetime }) });
    } else {
      pool = new AuroraDSQLPool({
        host: emu.host,
        port: emu.port,
        region: emu.region,
        user: 'admin',
        database: 'postgres',
        ssl: tls,
        stream: dialAddress(emu.hostaddr), // the cluster name does not resolve here: dial the emulator
        customCredentialsProvider: credentials,
        ...common,
        ...(lifetime && { maxLifetimeSeconds: lifetime[0] }),
      });
    }
    pool.on('error', () => poolErrors++); // an idle connection died: pg-pool drops it; counted, not fatal
    const plainTransfer = async (from, to, amount) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(DEBIT, [amount, from]);
        await client.query(CREDIT, [amount, to]);
        await client.query('COMMIT');
        client.release();
      } catch (err) {
        await client.query('ROLLBACK').then(() => client.release(), (e) => client.release(e));
        throw err;
      }
    };
    return {
      name,
      family: 'pg',
      query: () => pool.query('SELECT 1'),
      reserve: async () => {
        const client = await pool.connect();
        return { query: () => client.query('SELECT 1'), release: () => client.release() };
      },
      transact:
        name === 'DsqlPool'
          ? () => pool.transaction((tx) => tx.query('SELECT 1'))
          : async () => {
              const client = await pool.connect();
              try {
                await client.query('BEGIN');
                await client.query('SELECT 1');
                await client.query('COMMIT');
                client.release();
              } catch (err) {
                client.release(err);
                throw err;
              }
            },
      transfer:
        name === 'pg.Pool'
          ? plainTransfer
          : (from, to, amount) =>
              pool.transaction(async (tx) => {
                await tx.query(DEBIT, [amount, from]);
                await tx.query(CREDIT, [amount, to]);
              }),
      credentialCalls: () => credentials.calls,
      poolErrors: () => poolErrors,
      end: () => pool.end(),
    };
  }

  if (name === 'postgres()' || name === 'dsql()') {
    const common = { max, connect_timeout: connectTimeoutSeconds, onnotice: () => {} };
    const sql =
      name === 'postgres()'
        ? postgres({ host: emu.hostaddr, port: emu.port, user: 'admin', database: 'postgres', pass: token, ssl: tls, ...common, ...(lifetime && { max_lifetime: lifetime[0] }) })
        : dsql({ ...emu.connectionOptions(), credentials, ...common, ...(lifetime && { maxLifetimeSeconds: lifetime }) });
    const body = async (tx, from, to, amount) => {
      await tx`UPDATE accounts SET balance = balance - ${amount} WHERE id = ${from}`;
      await tx`UPDATE accounts SET balance = balance + ${amount} WHERE id = ${to}`;
    };
    return {
      name,
      family: 'postgres',
      query: () => sql`select 1`,
      reserve: async () => {
        const conn = await sql.reserve();
        return { query: () => conn`select 1`, release: () => conn.release() };
      },
      transact: name === 'postgres()' ? () => sql.begin((tx) => tx`select 1`) : () => transaction(sql, (tx) => tx`select 1`),
      transfer:
        name === 'postgres()'
          ? (from, to, amount) => sql.begin((tx) => body(tx, from, to, amount))
          : (from, to, amount) => transaction(sql, (tx) => body(tx, from, to, amount)),
      credentialCalls: () => credentials.calls,
      poolErrors: () => poolErrors,
      stats: name === 'dsql()' ? () => dsqlStats(sql) : undefined,
      end: () => sql.end({ timeout: 5 }),
    };
  }
  throw new TypeError(`createCandidate: unknown candidate ${JSON.stringify(name)} (accepted: ${CANDIDATES.join(', ')})`);
}
