import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { dsql, startTarget, type LocalTarget } from './support/cli.js';

let target: LocalTarget;

beforeAll(async () => {
  target = await startTarget();
}, 120_000);

afterAll(async () => {
  await target?.stop();
});

/** `flags` with `--name value` replaced (or added). */
function withFlag(flags: string[], name: string, value: string): string[] {
  const i = flags.indexOf(name);
  return i === -1 ? [...flags, name, value] : [...flags.slice(0, i), name, value, ...flags.slice(i + 2)];
}

/** The ✓/✗ column and step name of each line. */
const marks = (out: string): string[] => out.split('\n').filter((l) => /^[✓✗] /.test(l)).map((l) => l.slice(0, 2) + l.slice(2).split(/\s+/)[0]);

const ALL = ['options', 'region', 'dns', 'tcp', 'tls', 'credentials', 'token', 'auth', 'query', 'clock'];

/** A server on 127.0.0.1 that accepts connections and never answers (a blackholing middlebox). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('dsql doctor', () => {
  it('walks every step with ✓ on a healthy endpoint (exit 0), and says the same in --json', async () => {
    const run = await dsql(['doctor', ...target.flags]);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(marks(run.out)).toEqual(ALL.map((s) => `✓ ${s}`));
    expect(run.out).toContain(`✓ token       DbConnectAdmin for admin at ${target.local.host} in ${target.local.region}, valid 900 s`);
    const onTerminal = await dsql(['doctor', ...target.flags], { tty: true });
    expect(onTerminal.statuses).toEqual(ALL.map((s) => `… ${s}`));
    const json = await dsql(['doctor', ...target.flags, '--json'], { tty: true });
    expect(json.code).toBe(0);
    expect(json.statuses).toEqual([]);
    const report = JSON.parse(json.out);
    expect(report.ok).toBe(true);
    expect(report.steps.map((s: { step: string }) => s.step)).toEqual(ALL);
    expect(json.out).not.toContain('X-Amz-Signature');
  });

  it('wrong Region: ✗ region with the endpoint’s Region and what to do', async () => {
    const run = await dsql(['doctor', ...withFlag(target.flags, '--region', 'us-west-2')]);
    expect(run.code).toBe(1);
    expect(marks(run.out)).toEqual(['✗ region']);
    expect(run.out).toContain(`--region us-west-2, but the endpoint is in ${target.local.region}`);
    expect(run.out).toMatch(/next: {2}Drop --region/);
  });

  it('wrong CA: ✗ tls, the chain is not trusted', async () => {
    const otherCa = join(target.dir, 'other-ca.pem');
    writeFileSync(otherCa, rootCertificates[0]!);
    const run = await dsql(['doctor', ...withFlag(target.flags, '--ca-file', otherCa)]);
    expect(run.code).toBe(1);
    expect(marks(run.out)).toEqual(['✓ options', '✓ region', '✓ dns', '✓ tcp', '✗ tls']);
    expect(run.out).toMatch(/✗ tls +certificate chain not trusted \(/);
    expect(run.out).toContain(`cause: The server's chain does not lead to a root in the CA file ${otherCa}`);
  });

  it('unknown credentials: ✗ auth, access denied, with the server hint translated', async () => {
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNUNKNOWN00', AWS_SECRET_ACCESS_KEY: 'not-the-secret' };
    const run = await dsql(['doctor', ...target.flags, '--json'], { env });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.out);
    const last = report.steps.at(-1);
    expect(report.steps.map((s: { step: string; ok: boolean }) => `${s.ok ? '✓' : '✗'} ${s.step}`)).toEqual([...ALL.slice(0, 7).map((s) => `✓ ${s}`), '✗ auth']);
    expect(last.detail).toMatch(/access denied/);
    expect(last.next).toMatch(/credentials|Check, in this order/i);
    expect(run.out).not.toContain('not-the-secret');
  });

  it('credentials with AWS_CREDENTIAL_EXPIRATION: ✓ says when they expire; expired ones are ✗ credentials with what to do', async () => {
    const soon = new Date(Date.now() + 3_600_000).toISOString();
    const fresh = await dsql(['doctor', ...target.flags], { env: { ...process.env, AWS_CREDENTIAL_EXPIRATION: soon } });
    expect(fresh.code).toBe(0);
    expect(fresh.out).toMatch(new RegExp(`✓ credentials .*, expire ${soon.replace(/[.]/g, '\\.')} \\(in \\d+ min\\)`));
    const past = new Date(Date.now() - 60_000).toISOString();
    const run = await dsql(['doctor', ...target.flags, '--json'], { env: { ...process.env, AWS_CREDENTIAL_EXPIRATION: past } });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.out);
    const last = report.steps[report.steps.length - 1];
    expect(last).toMatchObject({ step: 'credentials', ok: false, cause: expect.stringContaining(`expired at ${past}`), next: expect.stringMatching(/refresh/i) });
  });

  it('a role that has no DbConnect grant: ✗ auth naming the role and the action', async () => {
    const run = await dsql(['doctor', ...target.flags, '--user', 'reporting']);
    expect(run.code).toBe(1);
    expect(marks(run.out).at(-1)).toBe('✗ auth');
    expect(run.out).toContain('DbConnect for reporting');
    expect(run.out).toMatch(/✗ auth .*"reporting"/);
  });

  it('DNS: a name that resolves is dialled; a name that does not is ✗ dns', async () => {
    // localhost resolves (A/AAAA); @dsql/local's certificate names localhost too.
    const flags = withFlag(withFlag(target.flags.filter((f, i, all) => f !== '--hostaddr' && all[i - 1] !== '--hostaddr'), '--host', 'localhost'), '--region', target.local.region);
    const run = await dsql(['doctor', ...flags]);
    expect(run.err).toBe('');
    expect(marks(run.out)).toEqual(ALL.map((s) => `✓ ${s}`));
    expect(run.out).toMatch(/✓ dns +localhost → \S/);
    expect(run.code).toBe(0);
    // RFC 6761: .invalid never resolves.
    const unknown = await dsql(['doctor', ...withFlag(flags, '--host', 'no-such-cluster.invalid'), '--timeout', '3']);
    expect(unknown.code).toBe(1);
    expect(marks(unknown.out)).toEqual(['✓ options', '✓ region', '✗ dns']);
  });

  it('closed port: ✗ tcp, connection refused', async () => {
    const gone = await silentServer();
    await gone.close(); // its port is now closed
    const run = await dsql(['doctor', ...withFlag(target.flags, '--port', String(gone.port))]);
    expect(run.code).toBe(1);
    expect(marks(run.out).at(-1)).toBe('✗ tcp');
    expect(run.out).toContain(`127.0.0.1:${gone.port}: connection refused`);
    expect(run.out).toContain('next:  Check --port (DSQL listens on 5432)');
  });

  it('blackholed port: ✗ tls, TCP accepted and then nothing within the timeout', async () => {
    const silent = await silentServer();
    try {
      const run = await dsql(['doctor', ...withFlag(target.flags, '--port', String(silent.port)), '--timeout', '1']);
      expect(run.code).toBe(1);
      expect(marks(run.out).slice(-2)).toEqual(['✓ tcp', '✗ tls']);
      expect(run.out).toContain('TCP accepted, then no TLS answer within 1 s');
    } finally {
      await silent.close();
    }
  });

  it('rate limit: ✗ auth, the connection rate is used up, with what to do', async () => {
    target.local.inject({ on: 'connect', error: { code: '53400', message: 'Unable to accept connection, rate exceeded.' } });
    const run = await dsql(['doctor', ...target.flags]);
    expect(run.code).toBe(1);
    expect(marks(run.out).at(-1)).toBe('✗ auth');
    expect(run.out).toContain('refused: Unable to accept connection, rate exceeded.');
    expect(run.out).toContain('connectRateLimit');
  });

  it('bad usage exits 2; --help has examples', async () => {
    expect((await dsql(['doctor', ...target.flags, '--timeout', 'x'])).code).toBe(2);
    const help = await dsql(['doctor', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Examples:');
  });
});
