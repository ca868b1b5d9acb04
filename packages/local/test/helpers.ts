import net from 'node:net';
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import pg from 'pg';
import postgres from 'postgres';
import type { DsqlLocal } from '../src/index.js';

/** A real token from @aws-sdk/dsql-signer for the emulator (overrides produce wrong ones). */
export async function token(
  dsql: DsqlLocal,
  o: { user?: string; hostname?: string; region?: string; secret?: string; expiresIn?: number; action?: 'admin' | 'user' } = {},
): Promise<string> {
  const signer = new DsqlSigner({
    hostname: o.hostname ?? dsql.host,
    region: o.region ?? dsql.region,
    credentials: { accessKeyId: dsql.credentials.accessKeyId, secretAccessKey: o.secret ?? dsql.credentials.secretAccessKey },
    ...(o.expiresIn !== undefined ? { expiresIn: o.expiresIn } : {}),
  });
  const admin = o.action ? o.action === 'admin' : (o.user ?? 'admin') === 'admin';
  return admin ? signer.getDbConnectAdminAuthToken() : signer.getDbConnectAuthToken();
}

/** A node-postgres client config that dials 127.0.0.1 but names the cluster host (SNI, verify-full). */
export function pgConfig(dsql: DsqlLocal, password: string, extra: Partial<pg.ClientConfig> = {}): pg.ClientConfig {
  return {
    host: dsql.hostaddr,
    port: dsql.port,
    user: 'admin',
    database: 'postgres',
    password,
    ssl: { ca: dsql.ca, servername: dsql.host },
    connectionTimeoutMillis: 5000,
    ...extra,
  };
}

/** Connects a node-postgres client as `user` with a fresh valid token. */
export async function connectPg(dsql: DsqlLocal, user = 'admin', extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = new pg.Client(pgConfig(dsql, await token(dsql, { user }), { user, ...extra }));
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** A Postgres.js `sql` for the emulator. */
export async function connectPostgresJs(dsql: DsqlLocal, o: postgres.Options<Record<string, never>> = {}): Promise<postgres.Sql> {
  const pass = await token(dsql);
  return postgres({
    host: dsql.hostaddr,
    port: dsql.port,
    user: 'admin',
    database: 'postgres',
    pass,
    ssl: { ca: dsql.ca, servername: dsql.host },
    max: 1,
    onnotice: () => {},
    ...o,
  });
}

/** Runs `fn` and returns the error it rejects with (fails if it resolves). */
export async function failure(fn: () => Promise<unknown>): Promise<Error & { code?: string; hint?: string; detail?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a failure, got success');
}

/** Opens a raw TCP socket to the emulator. */
export function rawSocket(dsql: DsqlLocal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(dsql.port, dsql.hostaddr, () => resolve(s));
    s.once('error', reject);
  });
}
