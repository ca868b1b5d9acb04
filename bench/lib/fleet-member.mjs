// One process of the fleet-storm scenario: a DsqlPool (built @dsql/pg) with its own connection
// rate limiter, as each process of a deploy has. Prints READY, opens FLEET_CONNECTIONS
// connections at once when the parent writes GO, and prints RESULT with the time from GO until
// all were open and its limiter's counters.
import { createInterface } from 'node:readline';
import { createDsqlSession } from '@dsql/core';
import { DsqlPool } from '@dsql/pg';

const options = JSON.parse(process.env.FLEET_OPTIONS ?? '{}');
const connections = Number(process.env.FLEET_CONNECTIONS ?? '10');
const pool = new DsqlPool({ ...options, max: connections, connectionTimeoutMillis: 120_000 });

await new Promise((resolve) => {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() !== 'GO') return;
    lines.close();
    process.stdin.destroy();
    resolve();
  });
  process.stdout.write('READY\n');
});
const started = performance.now();
const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
const ms = performance.now() - started;
for (const client of clients) client.release();
const limiter = createDsqlSession(options).limiter?.stats();
await pool.end();
process.stdout.write(`RESULT ${JSON.stringify({ connected: clients.length, ms, limiter })}\n`);
