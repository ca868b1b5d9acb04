import net from 'node:net';
import { inspect } from 'node:util';
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { isDsqlError } from '@dsql/core';
import { dsql } from '@dsql/postgres';

// Issue 15: a custom host naming a real cluster (clusterId / amzn-cluster-id) with sslmode
// 'disable' used to send that cluster's DbConnectAdmin token to a plaintext server. And the
// token must not sit in the objects a user may inspect or serialise.

let local: DsqlLocal;
let listener: net.Server;
let port: number;
let received: Buffer[] = [];

beforeAll(async () => {
  local = await startDsqlLocal();
  listener = net.createServer((s) => {
    s.on('data', (b: Buffer) => received.push(b));
    s.on('error', () => {});
    setTimeout(() => s.destroy(), 100);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as net.AddressInfo).port;
}, 60_000);

afterAll(async () => {
  await new Promise((r) => listener?.close(r));
  await local?.stop();
});

beforeEach(() => {
  received = [];
});

describe('a real cluster token never goes out in clear text', () => {
  it.each(['clusterId', 'amzn-cluster-id in options'])('dsql() refuses a custom host with %s and sslmode disable, sending nothing', async (how) => {
    const named = how === 'clusterId' ? { clusterId: local.clusterId } : { options: `-c amzn-cluster-id=${local.clusterId}` };
    let err: unknown;
    try {
      dsql({ host: '127.0.0.1', port, region: local.region, credentials: { ...local.credentials }, sslmode: 'disable', ...named } as never);
    } catch (e) {
      err = e;
    }
    expect(isDsqlError(err, 'invalid-config')).toBe(true);
    expect((err as { field: string }).field).toBe('sslmode');
    expect((err as Error).message).toContain(`signed for the real cluster (${local.host})`);
    let urlErr: unknown;
    try {
      dsql(`postgres://admin@127.0.0.1:${port}/postgres?region=${local.region}&sslmode=disable&options=-c%20amzn-cluster-id%3D${local.clusterId}`, { credentials: { ...local.credentials } });
    } catch (e) {
      urlErr = e;
    }
    expect((urlErr as { field?: string }).field).toBe('sslmode');
    await new Promise((r) => setTimeout(r, 50));
    expect(received).toEqual([]);
  });
});

describe('the token stays out of what a user can inspect', () => {
  it('util.inspect (showHidden) and JSON of the sql object and its options show no token after queries', async () => {
    const sql = dsql(local.connectionOptions(), { max: 2 });
    try {
      await Promise.all([sql`SELECT 1`, sql`SELECT 2`]);
      const texts = [inspect(sql, { showHidden: true, depth: 10 }), inspect(sql.options, { showHidden: true, depth: 10 }), JSON.stringify(sql.options)];
      for (const text of texts) {
        expect(text).not.toMatch(/X-Amz-Signature|X-Amz-Credential/);
        expect(text).not.toContain(local.credentials.secretAccessKey);
      }
    } finally {
      await sql.end();
    }
  });
});
