// Child process (connection-loss-process.int.test.ts): plain pg.Pool with an IAM token and
// verify-full TLS — the control showing that the scenarios take a process down without DsqlPool.
import pg from 'pg';
import { TokenProvider } from '@dsql/core';
import { runConnectionLossScenarios } from '../../../../scripts/child-scenario/connection-loss.mjs';

interface LocalOptions {
  host: string;
  hostaddr: string;
  port: number;
  region: string;
  user: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  ssl: { ca: string };
  maxLifetimeSeconds: number;
}

const n = (rows: Array<{ n?: unknown }>): unknown => rows[0]?.n;

await runConnectionLossScenarios({
  open(options) {
    const o = options as unknown as LocalOptions;
    const tokens = new TokenProvider({ host: o.host, region: o.region, user: o.user, credentials: o.credentials });
    const pool = new pg.Pool({
      host: o.hostaddr,
      port: o.port,
      user: o.user,
      database: 'postgres',
      password: () => tokens.getToken(),
      ssl: { ca: o.ssl.ca, servername: o.host },
      maxLifetimeSeconds: o.maxLifetimeSeconds,
    });
    return {
      value: async (text) => n((await pool.query(text)).rows),
      transaction: async (fn) => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const result = await fn(async (text) => n((await client.query(text)).rows));
          await client.query('COMMIT');
          return result;
        } finally {
          client.release();
        }
      },
      close: () => pool.end(),
    };
  },
});
