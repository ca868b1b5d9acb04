import { inspect } from 'node:util';
import type { DsqlLocal } from '@dsql/local';
import { DsqlClient, DsqlPool } from '../src/index.js';
import { startLocal } from './support/local.js';

// Issue 15, item 7: pg stores the string its password function returned on the client's hidden
// `password` fields; util.inspect(…, { showHidden: true }) printed the live token from there.

let local: DsqlLocal;

beforeAll(async () => {
  local = await startLocal();
}, 60_000);

afterAll(async () => {
  await local?.stop();
});

/** Everything inspect can reach, hidden properties included. */
function deepInspect(value: unknown): string {
  return inspect(value, { showHidden: true, depth: 6, getters: false });
}

it('a connected DsqlClient holds no token in its hidden password fields', async () => {
  const client = new DsqlClient(local.connectionOptions());
  await client.connect();
  try {
    expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    const text = deepInspect(client);
    expect(text).not.toMatch(/X-Amz-Signature/i);
    expect(text).not.toMatch(/Action=DbConnect/);
    expect(typeof (client as unknown as { password: unknown }).password).toBe('function');
  } finally {
    await client.end();
  }
});

it('a DsqlPool with open connections holds no token, and reconnects still authenticate', async () => {
  const pool = new DsqlPool({ ...local.connectionOptions(), max: 2 });
  try {
    await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 2')]);
    expect(deepInspect(pool)).not.toMatch(/X-Amz-Signature/i);
    // The restored function is what pg calls for the next physical connection.
    const held = await pool.connect();
    held.release(new Error('discard'));
    expect((await pool.query('SELECT 3 AS three')).rows[0].three).toBe(3);
    expect(deepInspect(pool)).not.toMatch(/X-Amz-Signature/i);
  } finally {
    await pool.end();
  }
});

it('a fixed password the user chose is left as pg keeps it', async () => {
  const client = new DsqlClient({ ...local.connectionOptions(), password: 'not-a-token' , connectionTimeoutMillis: 2000, retry: false });
  await expect(client.connect()).rejects.toThrow();
  expect((client as unknown as { password: unknown }).password).toBe('not-a-token');
  await client.end().catch(() => {});
});
