import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { resolveConfig, type SslMode } from '../src/index.js';
import { tlsOptions } from '../src/connect/tls.js';
import { HOST } from './helpers.js';

// A real TLS server with a certificate for HOST; clients dial 127.0.0.1 (the hostaddr case).
let server: Server;
let port: number;
let ca: string;
const sni: (string | false)[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dsql-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`,
    ], { stdio: 'ignore' });
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');
    server = createServer({ key, cert: ca }, (socket) => {
      sni.push((socket as TLSSocket & { servername: string | false }).servername);
      socket.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

function handshake(host: string, sslmode: SslMode, withCa: boolean): Promise<string> {
  const opts = tlsOptions({ host, sslmode, ssl: withCa ? { ca } : undefined });
  if (opts === false) throw new Error('no TLS');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...opts }, () => resolve('connected'));
    socket.on('error', (e: NodeJS.ErrnoException) => reject(e));
    socket.on('secureConnect', () => socket.end());
  });
}

describe('tlsOptions against a real TLS server', () => {
  it('verify-full succeeds for the certificate host while dialling an IP, and sends SNI', async () => {
    sni.length = 0;
    await expect(handshake(HOST, 'verify-full', true)).resolves.toBe('connected');
    for (let i = 0; i < 100 && sni.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sni).toEqual([HOST]);
  });

  it('verify-full fails for another host name and for an unknown CA', async () => {
    await expect(handshake('other.dsql.us-east-1.on.aws', 'verify-full', true)).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    await expect(handshake(HOST, 'verify-full', false)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('verify-ca checks the chain only; require checks nothing', async () => {
    await expect(handshake('other.dsql.us-east-1.on.aws', 'verify-ca', true)).resolves.toBe('connected');
    await expect(handshake(HOST, 'verify-ca', false)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    await expect(handshake('other.example', 'require', false)).resolves.toBe('connected');
  });
});

describe('tlsOptions', () => {
  it('derives from a resolved config (hostaddr keeps the cluster host as identity)', () => {
    const config = resolveConfig({ host: HOST, hostaddr: '10.0.0.1', ssl: { ca: 'PEM' } }, undefined, {});
    const opts = tlsOptions(config);
    expect(opts).toMatchObject({ servername: HOST, rejectUnauthorized: true, ca: 'PEM' });
    expect(tlsOptions(resolveConfig({ host: 'localhost', region: 'us-east-1', sslmode: 'disable' }, undefined, {}))).toBe(false);
  });

  it('sends no SNI for an IP host, and lets user options win', () => {
    expect(tlsOptions({ host: '127.0.0.1', sslmode: 'verify-full' })).not.toHaveProperty('servername');
    expect(tlsOptions({ host: HOST, sslmode: 'require', ssl: { servername: 'custom' } })).toMatchObject({ servername: 'custom', rejectUnauthorized: false });
  });
});
