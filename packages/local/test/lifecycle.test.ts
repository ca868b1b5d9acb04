import { existsSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { startDsqlLocal } from '../src/index.js';
import { connectPg, token } from './helpers.js';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('lifecycle', () => {
  it('describes itself, hands out adapter-ready options, and stops everything, files included (idempotently)', async () => {
    const dsql = await startDsqlLocal({ region: 'eu-west-1', clusterId: 'abcdefghijklmnopqrstuvwxyz' });
    const upstream = new URL(dsql.upstreamUrl);
    let client: pg.Client | undefined;
    let dataDir = '';
    try {
      expect(dsql.host).toBe('abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws');
      expect(dsql.hostaddr).toBe('127.0.0.1');
      expect(dsql.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
      const opts = dsql.connectionOptions('app');
      expect(opts).toEqual({
        host: dsql.host,
        hostaddr: '127.0.0.1',
        port: dsql.port,
        region: 'eu-west-1',
        user: 'app',
        database: 'postgres',
        credentials: dsql.credentials,
        ssl: { ca: dsql.ca },
      });
      expect(dsql.connectionOptions().user).toBe('admin');

      client = await connectPg(dsql);
      dataDir = (await client.query('SHOW data_directory')).rows[0].data_directory as string;
      expect(existsSync(dataDir)).toBe(true);
      // The proxy reaches the embedded server over its Unix socket, kept in the data directory
      // (no client address); the upstream URL is TCP.
      expect((await client.query('SELECT inet_client_addr() AS addr')).rows[0].addr).toBeNull();
      expect(existsSync(`${dataDir}/.s.PGSQL.${upstream.port}`)).toBe(true);
      const direct = new pg.Client({ connectionString: dsql.upstreamUrl });
      await direct.connect();
      try {
        expect((await direct.query('SELECT inet_client_addr() AS addr')).rows[0].addr).toBe('127.0.0.1');
      } finally {
        await direct.end();
      }
      const closed = new Promise<void>((r) => client!.once('end', () => r()));
      expect(dsql.stats().openConnections).toBe(1);
      await Promise.all([dsql.stop(), dsql.stop()]);
      await closed;
    } finally {
      await dsql.stop();
    }
    expect(await portOpen(dsql.port)).toBe(false);
    expect(await portOpen(Number(upstream.port))).toBe(false);
    // The embedded server's files are gone.
    expect(existsSync(dataDir)).toBe(false);
    const fresh = new pg.Client(
      { host: dsql.hostaddr, port: dsql.port, user: 'admin', password: await token(dsql), ssl: { ca: dsql.ca, servername: dsql.host } },
    );
    fresh.on('error', () => {});
    await expect(fresh.connect()).rejects.toThrow(/ECONNREFUSED/);
  });

  it('works with certificates supplied by the caller, and an upstream URL naming a Unix socket', async () => {
    const first = await startDsqlLocal();
    try {
      const { generateTlsMaterial } = await import('../src/accept/certs.js');
      const material = await generateTlsMaterial([first.host.replace(/^[a-z0-9]+/, 'zzzzzzzzzzzzzzzzzzzzzzzzzz'), 'localhost', '127.0.0.1']);
      const viaFirst = await connectPg(first);
      const dataDir = (await viaFirst.query('SHOW data_directory')).rows[0].data_directory as string;
      await viaFirst.end();
      // libpq's form: the socket directory as `host`, the TCP host part left empty.
      const url = new URL(first.upstreamUrl);
      const socketUrl = `postgres://${url.username}:${url.password}@/postgres?host=${encodeURIComponent(dataDir)}&port=${url.port}`;
      const second = await startDsqlLocal({ upstream: socketUrl, clusterId: 'zzzzzzzzzzzzzzzzzzzzzzzzzz', tls: material });
      try {
        expect(second.ca).toBe(material.ca);
        const c = await connectPg(second);
        expect((await c.query('SELECT 1 AS one, inet_client_addr() AS addr')).rows).toEqual([{ one: 1, addr: null }]);
        await c.end();
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
    }
  });
});
