import net from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { runCli } from '../src/cli-run.js';
import { failure } from './helpers.js';

describe('dsql-local command', () => {
  it('prints usage for --help', async () => {
    let out = '';
    expect(await runCli(['--help'], (t) => (out += t))).toBeUndefined();
    expect(out).toMatch(/^Usage: dsql-local \[options\]/);
    expect(out).toContain('--connect-rate <perSec,burst>');
  });

  it('rejects bad flags with the flag, the value and what is accepted', async () => {
    expect(await failure(() => runCli(['--port', 'abc'], () => {}))).toEqual(
      expect.objectContaining({ message: '--port: expected a number (got "abc")' }),
    );
    expect(await failure(() => runCli(['--connect-rate', '5'], () => {}))).toEqual(
      expect.objectContaining({ message: `--connect-rate: expected <perSecond>,<burst> or 'off' (got "5")` }),
    );
    expect(await failure(() => runCli(['--bogus'], () => {}))).toEqual(expect.objectContaining({ message: expect.stringMatching(/bogus/) }));
  });

  it('starts an endpoint, writes the CA file, prints what a client needs, and cleans up', async () => {
    let out = '';
    const run = await runCli(
      ['--region', 'eu-central-1', '--connect-rate', '50,100', '--max-connections', '3', '--max-handshakes', '50', '--handshake-timeout', '0.5'],
      (t) => (out += t),
    );
    try {
      expect(run).toBeDefined();
      const { dsql, caFile } = run!;
      expect(readFileSync(caFile, 'utf8')).toBe(dsql.ca);
      expect(out).toContain(`endpoint  ${dsql.host}`);
      expect(out).toContain(`hostaddr  127.0.0.1`);
      expect(out).toContain(`CA        ${caFile}`);
      expect(out).toContain(`export AWS_ACCESS_KEY_ID=${dsql.credentials.accessKeyId}`);
      expect(out).toContain(`export AWS_SECRET_ACCESS_KEY=${dsql.credentials.secretAccessKey}`);
      expect(dsql.region).toBe('eu-central-1');

      // What it printed is enough to connect (the token comes from the printed identity).
      const { DsqlSigner } = await import('@aws-sdk/dsql-signer');
      const accessKeyId = /AWS_ACCESS_KEY_ID=(\S+)/.exec(out)![1]!;
      const secretAccessKey = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(out)![1]!;
      const host = /endpoint {2}(\S+)/.exec(out)![1]!;
      const port = Number(/port {6}(\d+)/.exec(out)![1]);
      const password = await new DsqlSigner({ hostname: host, region: 'eu-central-1', credentials: { accessKeyId, secretAccessKey } }).getDbConnectAdminAuthToken();
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'admin', database: 'postgres', password, ssl: { ca: readFileSync(caFile, 'utf8'), servername: host } });
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await client.end();

      // --handshake-timeout took effect: a socket that never speaks is closed after 0.5 s.
      const silent = net.connect(port, '127.0.0.1');
      silent.on('error', () => {});
      const opened = performance.now();
      await new Promise((resolve) => silent.once('close', resolve));
      expect(performance.now() - opened).toBeLessThan(3000);
      expect(dsql.stats().handshakeTimeouts).toBe(1);
    } finally {
      await run?.stop();
    }
    expect(existsSync(run!.caFile)).toBe(false);
  });

  it('--regions starts a multi-Region cluster and prints every endpoint; each takes tokens for itself', async () => {
    expect(await failure(() => runCli(['--regions', 'us-east-1,us-east-2', '--port', '5432'], () => {}))).toEqual(
      expect.objectContaining({ message: `--port: not with --regions (each Region's endpoint gets its own)` }),
    );
    let out = '';
    const run = await runCli(['--regions', 'us-east-1,us-east-2', '--connect-rate', 'off'], (t) => (out += t));
    try {
      const cluster = run!.cluster!;
      expect(cluster.endpoints.map((e) => e.region)).toEqual(['us-east-1', 'us-east-2']);
      expect(readFileSync(run!.caFile, 'utf8')).toBe(cluster.endpoints[0]!.ca);
      const { DsqlSigner } = await import('@aws-sdk/dsql-signer');
      const accessKeyId = /AWS_ACCESS_KEY_ID=(\S+)/.exec(out)![1]!;
      const secretAccessKey = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(out)![1]!;
      for (const region of ['us-east-1', 'us-east-2']) {
        // What it printed for this Region is enough to connect.
        const [, host, port] = new RegExp(`${region} +endpoint (\\S+) +hostaddr 127\\.0\\.0\\.1 +port (\\d+)`).exec(out)!;
        expect(out).toContain(`PGHOST=${host} PGHOSTADDR=127.0.0.1 PGPORT=${port} AWS_REGION=${region}`);
        const password = await new DsqlSigner({ hostname: host!, region, credentials: { accessKeyId, secretAccessKey } }).getDbConnectAdminAuthToken();
        const client = new pg.Client({ host: '127.0.0.1', port: Number(port), user: 'admin', database: 'postgres', password, ssl: { ca: readFileSync(run!.caFile, 'utf8'), servername: host! } });
        await client.connect();
        expect((await client.query('SELECT current_setting($1) AS tz', ['TimeZone'])).rows).toEqual([{ tz: 'UTC' }]);
        await client.end();
      }
    } finally {
      await run?.stop();
    }
    expect(existsSync(run!.caFile)).toBe(false);
  });
});
