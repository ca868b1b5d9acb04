// One process of a fleet (fleet-storm.int.test.ts): a DsqlPool with its own connection rate
// limiter, as every process of a deploy has. It prints READY once its pool exists, opens
// DSQL_FLEET_CONNECTIONS connections at once when the parent writes GO (so the whole fleet
// starts together, as after a deploy), holds them until all are open, and prints what it saw.
import { createInterface } from 'node:readline';
import { createDsqlSession } from '@dsql/core';
import { DsqlPool } from '@dsql/pg';

const options = JSON.parse(process.env.DSQL_FLEET_OPTIONS ?? '{}') as Record<string, unknown>;
const connections = Number(process.env.DSQL_FLEET_CONNECTIONS ?? '8');
const pool = new DsqlPool({ ...options, max: connections, connectionTimeoutMillis: 60_000 });

await new Promise<void>((resolve) => {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'GO') {
      lines.close();
      process.stdin.destroy(); // nothing more to read: stdin must not keep the process alive
      resolve();
    }
  });
  process.stdout.write('READY\n');
});

const started = Date.now();
const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
const ms = Date.now() - started;
for (const client of clients) client.release();
// The process's shared limiter of this endpoint: what it admitted, how often it was refused and backed off.
const limiter = createDsqlSession(options).limiter?.stats();
await pool.end();
process.stdout.write(`RESULT ${JSON.stringify({ scenario: 'fleet', connected: clients.length, ms, limiter })}\n`);
