import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AwsCredentials } from '../src/index.js';

/** What the endpoint answers: credentials, an HTTP status, or nothing (the port is closed: ECONNREFUSED). */
export type EndpointMode = 'ok' | 'down' | number;

/**
 * A real container-credentials endpoint (the ECS/EKS agent's HTTP API, as `fromHttp` reads it) on
 * 127.0.0.1, which a test can take down (port closed), make answer an HTTP error, or bring back.
 */
export interface CredentialEndpoint {
  readonly url: string;
  /** Requests answered (while up). */
  readonly requests: number;
  /** Credentials handed out, in order (each with a fresh access key id). */
  readonly issued: AwsCredentials[];
  set(mode: EndpointMode): Promise<void>;
  close(): Promise<void>;
}

/** Starts the endpoint; credentials it hands out expire `lifetimeMs` after they are issued (by `now()`). */
export async function startCredentialEndpoint(options: { lifetimeMs: number; now?: () => number }): Promise<CredentialEndpoint> {
  const now = options.now ?? Date.now;
  const issued: AwsCredentials[] = [];
  let requests = 0;
  let mode: EndpointMode = 'ok';
  const server: Server = createServer((req, res) => {
    requests++;
    if (typeof mode === 'number') {
      res.writeHead(mode, { 'content-type': 'application/json' }).end(JSON.stringify({ Code: 'Error', Message: `status ${mode}` }));
      return;
    }
    const n = String(issued.length + 1).padStart(4, '0');
    const creds = {
      accessKeyId: `ASIAENDPOINTKEY0${n}`,
      secretAccessKey: `endpointSecretAccessKey/${n}/${'x'.repeat(20)}`,
      sessionToken: `endpointSessionToken${n}${'y'.repeat(30)}`,
      expiration: new Date(now() + options.lifetimeMs),
    };
    issued.push(creds);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ AccessKeyId: creds.accessKeyId, SecretAccessKey: creds.secretAccessKey, Token: creds.sessionToken, Expiration: creds.expiration.toISOString() }),
    );
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const closeServer = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}/v2/credentials/test`,
    get requests() {
      return requests;
    },
    issued,
    async set(next) {
      const wasDown = mode === 'down';
      mode = next;
      if (next === 'down' && !wasDown) await closeServer();
      if (next !== 'down' && wasDown) await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async close() {
      if (mode !== 'down') await closeServer();
    },
  };
}
