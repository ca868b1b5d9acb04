// One fresh process of the cold-start-process scenario: imports one candidate, opens a pool
// and reads one row, as a Lambda cold start does. Prints RESULT with the milliseconds since the
// process started (performance.timeOrigin) at which the import finished and the first row came,
// the time the import itself took, and the process's CPU time (user + system) up to the first row
// — steadier than wall time on a shared machine. Credentials come from the environment
// (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, as Lambda provides); the plain drivers get a
// pre-signed token (COLD_TOKEN).
import * as net from 'node:net';

const name = process.argv[2];
const emu = JSON.parse(process.env.COLD_EMULATOR);
const tls = { ca: emu.ca, servername: emu.host };
const shared = { host: emu.host, hostaddr: emu.hostaddr, port: emu.port, region: emu.region, user: 'admin', database: 'postgres', ssl: { ca: emu.ca } };

const importStart = performance.now();
let query;
let importEnd;
if (name === 'pg.Pool' || name === 'DsqlPool' || name === 'AuroraDSQLPool') {
  let pool;
  if (name === 'pg.Pool') {
    const { default: pg } = await import('pg');
    pool = new pg.Pool({ host: emu.hostaddr, port: emu.port, user: 'admin', database: 'postgres', password: process.env.COLD_TOKEN, ssl: tls, max: 1 });
  } else if (name === 'DsqlPool') {
    const { DsqlPool } = await import('@dsql/pg');
    pool = new DsqlPool({ ...shared, max: 1 });
  } else {
    const { AuroraDSQLPool } = await import('@aws/aurora-dsql-node-postgres-connector');
    // The cluster name does not resolve here: dial the emulator's address, keep the name for TLS.
    class AddressSocket extends net.Socket {
      connect(port, host) {
        return typeof host === 'string' ? super.connect(Number(port), emu.hostaddr) : super.connect(port, host);
      }
    }
    pool = new AuroraDSQLPool({ host: emu.host, port: emu.port, region: emu.region, user: 'admin', database: 'postgres', ssl: tls, stream: () => new AddressSocket(), max: 1 });
  }
  importEnd = performance.now();
  query = async () => {
    const { rows } = await pool.query('SELECT 1 AS one');
    const at = performance.now();
    await pool.end();
    return [rows[0].one, at];
  };
} else {
  let sql;
  if (name === 'postgres()') {
    const { default: postgres } = await import('postgres');
    sql = postgres({ host: emu.hostaddr, port: emu.port, user: 'admin', database: 'postgres', pass: process.env.COLD_TOKEN, ssl: tls, max: 1 });
  } else {
    const { dsql } = await import('@dsql/postgres');
    sql = dsql({ ...shared, max: 1 });
  }
  importEnd = performance.now();
  query = async () => {
    const rows = await sql`SELECT 1 AS one`;
    const at = performance.now();
    await sql.end();
    return [rows[0].one, at];
  };
}
const [one, firstRowAt] = await query();
const { user, system } = process.cpuUsage();
if (one !== 1) throw new Error(`unexpected row ${one}`);
process.stdout.write(`RESULT ${JSON.stringify({ importMs: importEnd - importStart, importDoneAt: importEnd, firstRowAt, cpuMs: (user + system) / 1000 })}\n`);
