import net from 'node:net';
import { dialAddress } from '../src/address-socket.js';

describe('dialAddress', () => {
  let server: net.Server;
  let port: number;
  const seen: string[] = [];

  beforeAll(async () => {
    server = net.createServer((s) => {
      seen.push(String(s.localAddress));
      s.end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('dials the given address whatever host pg asks for', async () => {
    const socket = dialAddress('127.0.0.1')();
    const data = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      // what pg does: connect(port, host) with the cluster name, which does not resolve here
      socket.connect(port, 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws.invalid');
    });
    expect(data).toBe('hello');
    expect(seen).toContain('127.0.0.1');
  });

  it('returns a new socket per call', () => {
    const factory = dialAddress('127.0.0.1');
    const a = factory();
    const b = factory();
    expect(a).not.toBe(b);
    expect(a).toBeInstanceOf(net.Socket);
    a.destroy();
    b.destroy();
  });
});
