import net from 'node:net';

/** See {@link tcpRelay}. */
export interface TcpRelay {
  /** The port the relay listens on (127.0.0.1); the same after a restart. */
  readonly port: number;
  /** The endpoint goes away: every relayed connection is closed, new ones are refused. */
  stop(): Promise<void>;
  /** The endpoint comes back on the same port. */
  start(): Promise<void>;
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/**
 * A TCP relay on 127.0.0.1 in front of `targetPort` that can be stopped and started again on the
 * same port: an endpoint that disappears (sessions cut, connections refused) and comes back,
 * while TLS and authentication stay end to end with the server behind it.
 *
 * @example
 * const relay = await tcpRelay(local.port);
 * const sql = dsql({ ...local.connectionOptions(), port: relay.port });
 * await relay.stop();
 */
export async function tcpRelay(targetPort: number): Promise<TcpRelay> {
  const sockets = new Set<net.Socket>();
  const make = (): net.Server =>
    net.createServer((client) => {
      const server = net.connect(targetPort, '127.0.0.1');
      for (const [a, b] of [
        [client, server],
        [server, client],
      ] as const) {
        sockets.add(a);
        a.pipe(b);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          sockets.delete(a);
          b.destroy();
        });
      }
    });
  let server = make();
  const port = await listen(server, 0);
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
    start: async () => {
      server = make();
      await listen(server, port);
    },
  };
}
