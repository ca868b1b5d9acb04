// A bare relay in its own process: the ceiling for any proxy written in Node on this machine.
// It answers the SSLRequest, terminates TLS (`tls: true`) or not, and copies bytes both ways to
// PostgreSQL — no framing, no rules, no authentication of its own. Options as JSON in argv[2]:
// { tls?: { cert, key }, upstream: { path } | { host, port } }. Prints its port as one line.
import net from 'node:net';
import tls from 'node:tls';

const { tls: material, upstream } = JSON.parse(process.argv[2]);
const secureContext = material && tls.createSecureContext(material);
const relay = (client) => {
  const up = upstream.path ? net.connect({ path: upstream.path }) : net.connect({ ...upstream, noDelay: true });
  client.on('data', (c) => up.write(c));
  up.on('data', (c) => client.write(c));
  client.on('close', () => up.destroy());
  up.on('close', () => client.destroy());
  client.on('error', () => client.destroy());
  up.on('error', () => up.destroy());
};
const server = net.createServer((raw) => {
  raw.setNoDelay(true);
  raw.on('error', () => raw.destroy());
  if (!secureContext) return relay(raw);
  // The client's first message is the 8-byte SSLRequest; it waits for 'S' before its ClientHello.
  raw.once('data', () => {
    raw.pause();
    raw.write('S');
    relay(new tls.TLSSocket(raw, { isServer: true, secureContext }));
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
