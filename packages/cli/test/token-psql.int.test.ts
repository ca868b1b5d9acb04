import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import pg from 'pg';
import { verifyDsqlToken } from '@dsql/local';
import { dsql, startTarget, type LocalTarget } from './support/cli.js';

let target: LocalTarget;

beforeAll(async () => {
  target = await startTarget();
}, 120_000);

afterAll(async () => {
  await target?.stop();
});

/** Opens a real connection to the endpoint with `token` as the password and asks who it is. */
async function connectWith(token: string, user: string): Promise<string> {
  const { local } = target;
  const client = new pg.Client({
    host: local.hostaddr,
    port: local.port,
    user,
    database: 'postgres',
    password: token,
    ssl: { ca: local.ca, servername: local.host },
  });
  await client.connect();
  try {
    return (await client.query('SELECT current_user AS u')).rows[0].u;
  } finally {
    await client.end();
  }
}

/** `sh -c script` with `input` on stdin and only PATH in its environment. */
function shell(script: string, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { env: { PATH: process.env['PATH'] }, timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const action = (token: string): string | null => new URLSearchParams(token.slice(token.indexOf('?'))).get('Action');

describe('dsql token', () => {
  it('signs DbConnectAdmin for admin: the endpoint verifies it and accepts a connection with it', async () => {
    const run = await dsql(['token', ...target.flags]);
    expect(run).toMatchObject({ code: 0, err: '' });
    const token = run.out;
    expect(token.startsWith(`${target.local.host}/?`)).toBe(true);
    expect(action(token)).toBe('DbConnectAdmin');
    const { local } = target;
    expect(await verifyDsqlToken(token, { host: local.host, region: local.region, user: 'admin', credentials: [local.credentials] })).toEqual({ ok: true });
    expect(await connectWith(token, 'admin')).toBe('admin');
  });

  it('signs DbConnect for any other role, which admin cannot use', async () => {
    const { local } = target;
    const run = await dsql(['token', ...target.flags, '--user', 'app']);
    expect(run.code).toBe(0);
    expect(action(run.out)).toBe('DbConnect');
    expect(await verifyDsqlToken(run.out, { host: local.host, region: local.region, user: 'app', credentials: [local.credentials] })).toEqual({ ok: true });
    const asAdmin = await verifyDsqlToken(run.out, { host: local.host, region: local.region, user: 'admin', credentials: [local.credentials] });
    expect(asAdmin.ok).toBe(false);
  });

  it('reads the environment the adapters read (PGHOST, PGHOSTADDR, PGPORT, PGUSER, AWS_REGION)', async () => {
    const { local } = target;
    const env = { ...process.env, PGHOST: local.host, PGHOSTADDR: local.hostaddr, PGPORT: String(local.port), PGUSER: 'admin', AWS_REGION: local.region };
    const run = await dsql(['token'], { env });
    expect(run.code).toBe(0);
    expect(await connectWith(run.out, 'admin')).toBe('admin');
  });

  it('warns on stderr when the lifetime is over 15 minutes, and not at 900 s', async () => {
    const long = await dsql(['token', ...target.flags, '--expires-in', '3600']);
    expect(long.code).toBe(0);
    expect(new URLSearchParams(long.out.slice(long.out.indexOf('?'))).get('X-Amz-Expires')).toBe('3600');
    expect(long.err).toMatch(/warning: this token is valid for 3600 s \(over 15 minutes\)/);
    expect(long.err).not.toContain('X-Amz');
    const normal = await dsql(['token', ...target.flags, '--expires-in', '900']);
    expect(normal).toMatchObject({ code: 0, err: '' });
  });

  it('names the flag, the value and what is accepted on bad input (exit 2)', async () => {
    const bad = await dsql(['token', ...target.flags, '--expires-in', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--expires-in: expected a whole number (got "soon")');
    const tooLong = await dsql(['token', ...target.flags, '--expires-in', '604801']);
    expect(tooLong.code).toBe(2);
    expect(tooLong.err).toMatch(/tokenDurationSecs/);
    const noHost = await dsql(['token'], { env: { PATH: process.env['PATH'] } });
    expect(noHost.code).toBe(2);
    expect(noHost.err).toMatch(/host/);
    const unknown = await dsql(['token', '--hots', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("'--hots'");
  });
});

describe('dsql env', () => {
  it('prints export lines that psql connects with', async () => {
    const { local, caFile } = target;
    const run = await dsql(['env', ...target.flags]);
    expect(run).toMatchObject({ code: 0, err: '' });
    const lines = run.out.split('\n');
    expect(lines.slice(0, -1)).toEqual([
      `export PGHOST='${local.host}'`,
      `export PGHOSTADDR='${local.hostaddr}'`,
      `export PGPORT='${local.port}'`,
      "export PGUSER='admin'",
      "export PGDATABASE='postgres'",
      "export PGSSLMODE='verify-full'",
      `export PGSSLROOTCERT='${caFile}'`,
    ]);
    expect(lines.at(-1)).toMatch(/^export PGPASSWORD='[^']+X-Amz-Signature=[0-9a-f]{64}[^']*'$/);
    // The lines as a shell evaluates them, then the real psql with nothing else.
    // (Asynchronously: the endpoint runs in this process and must keep answering.)
    const psql = await shell('eval "$(cat)" && psql -XtAc "SELECT current_user"', run.out);
    expect(psql).toEqual({ code: 0, stdout: 'admin\n', stderr: '' });
  });

  it('defaults the root certificate to the system store (libpq 16+)', async () => {
    const { local } = target;
    const run = await dsql(['env', '--host', local.host, '--region', local.region]);
    expect(run.code).toBe(0);
    expect(run.out).toContain("export PGSSLROOTCERT='system'");
    expect(run.out).not.toContain('PGHOSTADDR');
  });
});

describe('dsql psql', () => {
  it('runs the real psql with the token in its environment, never on its command line', async () => {
    // A psql wrapper that records what ps would show (its arguments) before running psql.
    const argvFile = join(target.dir, 'argv.txt');
    const wrapper = join(target.dir, 'psql-wrapper.sh');
    writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" != "--version" ]; then printf '%s\\n' "$@" > '${argvFile}'; fi\nexec psql "$@"\n`);
    chmodSync(wrapper, 0o755);
    const run = await dsql(['psql', ...target.flags, '--psql', wrapper, '-XtA', '-c', 'SELECT current_user, current_database()']);
    expect(run.err).toBe('');
    expect(run).toMatchObject({ code: 0, out: 'admin|postgres' });
    const argv = readFileSync(argvFile, 'utf8');
    expect(argv).toBe('-XtA\n-c\nSELECT current_user, current_database()\n');
    expect(argv).not.toContain('X-Amz');
  });

  it('with a psql older than 16 and no --ca-file, hands psql the Node.js roots in a private file removed afterwards', async () => {
    // The wrapper reports what psql would get (the token's presence only) and claims version 15.
    const seen = join(target.dir, 'seen.txt');
    const wrapper = join(target.dir, 'psql-15.sh');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ "$1" = "--version" ]; then echo 'psql (PostgreSQL) 15.14'; exit 0; fi\n` +
        `{ echo "$PGSSLROOTCERT"; stat -c %a "$PGSSLROOTCERT"; grep -c 'BEGIN CERTIFICATE' "$PGSSLROOTCERT"; [ -n "$PGPASSWORD" ] && echo token-set; echo "$PGSSLMODE"; } > '${seen}'\n`,
    );
    chmodSync(wrapper, 0o755);
    const flags = target.flags.filter((f, i, all) => f !== '--ca-file' && all[i - 1] !== '--ca-file');
    const run = await dsql(['psql', ...flags, '--psql', wrapper, '-c', 'SELECT 1']);
    expect(run).toMatchObject({ code: 0, err: '' });
    const [file, mode, certificates, token, sslmode] = readFileSync(seen, 'utf8').trim().split('\n');
    expect(file).toMatch(/dsql-psql-[^/]+\/roots\.pem$/);
    expect(mode).toBe('600');
    expect(Number(certificates)).toBe(rootCertificates.length);
    expect(token).toBe('token-set');
    expect(sslmode).toBe('verify-full');
    expect(existsSync(file!)).toBe(false);
  });

  it("passes psql's exit code and errors through, and everything after -- to psql", async () => {
    const run = await dsql(['psql', ...target.flags, '--', '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'SELECT * FROM no_such_table']);
    expect(run.code).toBe(1);
    expect(run.err).toContain('relation "no_such_table" does not exist');
  });

  it('uses a role other than admin with a DbConnect token (refused without a grant, as DSQL does)', async () => {
    const run = await dsql(['psql', ...target.flags, '--user', 'nobody_here', '-X', '-c', 'SELECT 1']);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/nobody_here|access denied/);
    expect(run.err).not.toContain('X-Amz-Signature');
  });

  it('says how to install psql when it cannot be run', async () => {
    const run = await dsql(['psql', ...target.flags, '--psql', join(target.dir, 'no-psql-here'), '-c', 'SELECT 1']);
    expect(run.code).toBe(127);
    expect(run.err).toContain('apt-get install postgresql-client');
  });

  it('prints its help with examples', async () => {
    const run = await dsql(['psql', '--help']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('Examples:');
  });
});
