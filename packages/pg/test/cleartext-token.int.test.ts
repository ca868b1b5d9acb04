import net from 'node:net';
import type { DsqlLocal } from '@dsql/local';
import { isDsqlError } from '@dsql/core';
import { DsqlClient, DsqlPool } from '../src/index.js';
import { startLocal } from './support/local.js';

// Issue 15: a custom host naming a real cluster (clusterId / amzn-cluster-id) with sslmode
// 'disable' used to send that cluster's DbConnectAdmin token to a plaintext server, once per
// connect retry. The config is refused now, before anything is dialled.

let local: DsqlLocal;
let listener: net.Server;
let port: number;
let received: Buffer[] = [];

beforeAll(async () => {
  local = await startLocal();
  // A plaintext "server" on 127.0.0.1 that records what reaches it and answers nothing useful.
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

function plaintext(named: object): object {
  return { host: '127.0.0.1', port, region: local.region, credentials: { ...local.credentials }, sslmode: 'disable', ...named };
}

describe('a real cluster token never goes out in clear text', () => {
  it.each(['clusterId', 'amzn-cluster-id in options'])('DsqlPool and DsqlClient refuse a custom host with %s and sslmode disable, sending nothing', async (how) => {
    const withCluster = how === 'clusterId' ? { clusterId: local.clusterId } : { options: `-c amzn-cluster-id=${local.clusterId}` };
    for (const make of [() => new DsqlPool(plaintext(withCluster)), () => new DsqlClient(plaintext(withCluster))]) {
      let err: unknown;
      try {
        make();
      } catch (e) {
        err = e;
      }
      expect(isDsqlError(err, 'invalid-config')).toBe(true);
      expect((err as { field: string }).field).toBe('sslmode');
      expect((err as Error).message).toContain(`signed for the real cluster (${local.host})`);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(received).toEqual([]);
  });

  it('without a cluster id (a local endpoint) sslmode disable still dials in clear text: the listener sees the startup', async () => {
    const client = new DsqlClient({ ...plaintext({}), connectionTimeoutMillis: 500, retry: false });
    client.on('error', () => {});
    await client.connect().catch(() => undefined);
    await client.end().catch(() => undefined);
    expect(Buffer.concat(received).includes(Buffer.from('user\0admin\0'))).toBe(true);
  });
});
