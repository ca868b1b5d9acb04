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
});
