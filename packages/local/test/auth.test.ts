import pg from 'pg';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, connectPostgresJs, failure, pgConfig, token } from './helpers.js';

let dsql: DsqlLocal;
beforeAll(async () => {
  dsql = await startDsqlLocal();
}, 60_000);
afterAll(async () => {
  await dsql?.stop();
});

async function connectWith(password: string, extra: Partial<pg.ClientConfig> = {}): Promise<void> {
  const c = new pg.Client(pgConfig(dsql, password, extra));
  c.on('error', () => {});
  try {
    await c.connect();
  } finally {
    await c.end().catch(() => {});
  }
}

describe('authentication', () => {
  it('accepts a token from @aws-sdk/dsql-signer and runs queries through node-postgres', async () => {
    const client = await connectPg(dsql);
    try {
      const r = await client.query('SELECT 1 AS one, current_setting($1) AS iso, current_setting($2) AS tz', [
        'default_transaction_isolation',
        'TimeZone',
      ]);
      expect(r.rows).toEqual([{ one: 1, iso: 'repeatable read', tz: 'UTC' }]);
      const v = await client.query('SHOW server_version');
      expect(v.rows[0].server_version).toMatch(/^16\./);
    } finally {
      await client.end();
    }
  });

  it('accepts Postgres.js with the same token', async () => {
    const sql = await connectPostgresJs(dsql);
    try {
      const rows = await sql`SELECT ${41}::int + 1 AS answer`;
      expect(rows[0]).toEqual({ answer: 42 });
    } finally {
      await sql.end();
    }
  });

  it('accepts PostgreSQL 17 direct TLS (ALPN postgresql)', async () => {
    const client = new pg.Client(pgConfig(dsql, await token(dsql), { sslnegotiation: 'direct' } as Partial<pg.ClientConfig>));
    await client.connect();
    try {
      expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await client.end();
    }
  });

  const denied = (hint: RegExp) =>
    expect.objectContaining({ code: '08006', message: 'unable to accept connection, access denied', hint: expect.stringMatching(hint) });


  it.each([
    ['wrong secret', { secret: 'wrongwrongwrong' }, /signature we calculated does not match/, 'signature-mismatch'],
    ['wrong region', { region: 'eu-west-1' }, /valid region/, 'wrong-region'],
    ['wrong host', { hostname: 'aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-1.on.aws' }, /different host/, 'wrong-host'],
    ['wrong action', { action: 'user' as const }, /Wrong user to action mapping\. user: admin, action: DbConnect/, 'wrong-action'],
  ])('rejects a token with the %s', async (_name, o, hint, reason) => {
    const before = dsql.stats().authFailures[reason as 'expired'] ?? 0;
    const err = await failure(async () => connectWith(await token(dsql, o)));
    expect(err).toEqual(denied(hint));
    expect(dsql.stats().authFailures[reason as 'expired']).toBe(before + 1);
  });

  it('rejects an expired token', async () => {
    // A token signed 20 minutes ago with the default 900 s expiry.
    const { DsqlSigner } = await import('@aws-sdk/dsql-signer');
    const { SignatureV4 } = await import('@smithy/signature-v4');
    const { Sha256 } = await import('@aws-crypto/sha256-js');
    expect(DsqlSigner).toBeDefined();
    const signer = new SignatureV4({ service: 'dsql', region: dsql.region, sha256: Sha256, credentials: dsql.credentials });
    const req = await signer.presign(
      { method: 'GET', protocol: 'https:', hostname: dsql.host, path: '/', query: { Action: 'DbConnectAdmin' }, headers: { host: dsql.host } },
      { expiresIn: 900, signingDate: new Date(Date.now() - 20 * 60_000) },
    );
    const q = new URLSearchParams(req.query as Record<string, string>).toString();
    const err = await failure(() => connectWith(`${dsql.host}/?${q}`));
    expect(err).toEqual(denied(/^Signature expired: /));
  });

  it('rejects a password that is not a token', async () => {
    const err = await failure(() => connectWith('hunter2'));
    expect(err).toEqual(denied(/not a DSQL authentication token/));
  });

  it('refuses a plaintext connection', async () => {
    const before = dsql.stats().tlsRefused;
    const err = await failure(async () => connectWith(await token(dsql), { ssl: false }));
    expect(err).toEqual(expect.objectContaining({ code: '08006', message: 'unable to accept connection, ssl is required' }));
    expect(dsql.stats().tlsRefused).toBe(before + 1);
  });

  it('refuses a TLS connection without SNI with DSQL message', async () => {
    // Dialing the IP without a servername sends no SNI (RFC 6066); the certificate covers 127.0.0.1.
    const err = await failure(async () => connectWith(await token(dsql), { ssl: { ca: dsql.ca } }));
    expect(err).toEqual(expect.objectContaining({ code: '08006', message: 'unable to accept connection, sni was not received' }));
  });

  it('lets non-admin roles in with DbConnect tokens when the role exists', async () => {
    const admin = await connectPg(dsql);
    try {
      await admin.query('DROP ROLE IF EXISTS app_reader');
      await admin.query('CREATE ROLE app_reader WITH LOGIN');
    } finally {
      await admin.end();
    }
    const client = await connectPg(dsql, 'app_reader');
    try {
      expect((await client.query('SELECT current_user AS u')).rows).toEqual([{ u: 'app_reader' }]);
    } finally {
      await client.end();
    }
    const err = await failure(async () => connectWith(await token(dsql, { user: 'app_reader', action: 'admin' }), { user: 'app_reader' }));
    expect(err).toEqual(denied(/Wrong user to action mapping\. user: app_reader, action: DbConnectAdmin/));
  });

  it('accepts a PrivateLink-style connection naming the cluster with amzn-cluster-id', async () => {
    // SNI is another name (here localhost); the token is signed for the cluster hostname.
    const password = await token(dsql);
    const c = new pg.Client(
      pgConfig(dsql, password, { host: 'localhost', ssl: { ca: dsql.ca }, options: `-c amzn-cluster-id=${dsql.clusterId}` } as Partial<pg.ClientConfig>),
    );
    await c.connect();
    try {
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await c.end();
    }
    // The same token without the option is for another host than the SNI.
    expect(await failure(() => connectWith(password, { host: 'localhost', ssl: { ca: dsql.ca } }))).toEqual(denied(/different host/));
    // Naming another cluster is refused.
    const err = await failure(() =>
      connectWith(password, { ssl: { ca: dsql.ca }, options: '-c amzn-cluster-id=zzzzzzzzzzzzzzzzzzzzzzzzzz' } as Partial<pg.ClientConfig>),
    );
    expect(err).toEqual(expect.objectContaining({ code: '08006' }));
  });

  it('keeps the secret out of util.inspect', async () => {
    const { inspect } = await import('node:util');
    expect(inspect(dsql)).not.toContain(dsql.credentials.secretAccessKey);
    expect(dsql.stats().authenticated).toBeGreaterThan(0);
  });
});
