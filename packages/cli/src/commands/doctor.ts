/**
 * `dsql doctor`: the connection guide's troubleshooting steps, in order, one line each — options,
 * Region, DNS, TCP, TLS, credentials, token, authentication, a query, the clock — with the cause
 * and the next action on the first step that fails (the later ones depend on it).
 */
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { classifyError, describeConnectError, isDsqlError, parseEndpoint, redact, type DsqlConfig } from '@dsql/core';
import { CONNECTION_FLAGS, CONNECTION_HELP, envCredentials, lifetimeWarning, resolveConnection, signToken } from '../connection.js';
import { UsageError, type CliIo } from '../io.js';
import { probeTcp, probeTls, type ProbeError } from '../doctor/probes.js';

export const DOCTOR_HELP = `Usage: dsql doctor [connection options] [--timeout <s>] [--json]

Walks the connection guide's troubleshooting steps in order and prints one line per step,
✓ or ✗; on ✗ the cause and the next action, and the steps after it are not run:
  options       the endpoint form (public, PrivateLink, custom host) and the options
  region        the Region: endpoint vs --region vs AWS_REGION
  dns           the endpoint's A/AAAA records (or the --hostaddr dialled instead)
  tcp           the port answers (refused → wrong port/host; timeout → security group, egress)
  tls           SSLRequest then TLS with SNI, verify-full (chain and host name)
  credentials   AWS credentials found, from where, and when they expire (AWS_CREDENTIAL_EXPIRATION)
  token         the token: action (DbConnectAdmin for admin, DbConnect otherwise), host, Region, lifetime
  auth          the server accepts the token (its refusal explained)
  query         SELECT 1 and the round-trip time
  clock         this machine's clock against the server's (tokens carry a signing time)

Options:
  --timeout <s>   bound of each network step (default 5)
  --json          one JSON document: { ok, steps: [{ step, ok, detail, cause?, next? }] }
  -h, --help      show this help
Exit code: 0 every step ✓, 1 a step ✗, 2 bad usage.

${CONNECTION_HELP}

Examples:
  dsql doctor --host abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws
  dsql doctor --host <endpoint> --hostaddr 10.0.1.15 --user app --json`;

/**
 * One step's outcome.
 *
 * @example
 * const s: DoctorStep = { step: 'tcp', ok: false, detail: '127.0.0.1:5432: connection refused', cause: '…', next: '…' };
 */
export interface DoctorStep {
  step: string;
  ok: boolean;
  detail: string;
  cause?: string;
  next?: string;
}

/** A failed step: ends the walk. */
class Failed extends Error {
  constructor(readonly result: DoctorStep) {
    super(result.detail);
  }
}

const fail = (step: string, detail: string, cause: string, next: string): never => {
  throw new Failed({ step, ok: false, detail, cause, next });
};

const masked = (key: string): string => (key.length > 8 ? `${key.slice(0, 4)}…${key.slice(-4)}` : '…');

/** Runs the steps; each resolves a detail line or throws `Failed`. */
async function walk(values: Record<string, string | boolean | undefined>, io: CliIo, report: (s: DoctorStep) => void): Promise<boolean> {
  const flags = values as Record<string, string | undefined>;
  const timeoutMs = (() => {
    const t = flags['timeout'] === undefined ? 5 : Number(flags['timeout']);
    if (!Number.isFinite(t) || t <= 0) throw new UsageError(`--timeout: expected a number of seconds greater than 0 (got ${JSON.stringify(flags['timeout'])})`);
    return t * 1000;
  })();
  let config!: DsqlConfig;
  let caFile: string | undefined;
  let ca: string | undefined;
  let token = '';
  let client: pg.Client | undefined;

  const steps: [string, () => Promise<string>][] = [
    [
      'options',
      async () => {
        const host = flags['host'] ?? io.env['PGHOST'];
        if (!host) fail('options', 'no host', 'Neither --host nor PGHOST names the cluster.', 'Pass --host <cluster endpoint> (or a bare cluster id with --region).');
        // The Region is its own step: an endpoint that names one Region and a --region naming another.
        const endpointRegion = (() => {
          try {
            return parseEndpoint(host!, { env: {} }).region;
          } catch {
            return undefined;
          }
        })();
        if (endpointRegion && flags['region'] && flags['region'] !== endpointRegion) {
          fail(
            'region',
            `--region ${flags['region']}, but the endpoint is in ${endpointRegion}`,
            `Tokens are signed for a Region; the endpoint ${host} answers in ${endpointRegion} only and would refuse a token signed for ${flags['region']}.`,
            `Drop --region (the endpoint names its Region), or use that Region's endpoint.`,
          );
        }
        try {
          ({ config, caFile } = resolveConnection(flags, io.env));
        } catch (err) {
          const message = redact((err as Error).message);
          const step = /region/i.test(message) ? 'region' : 'options';
          fail(step, message, 'The options do not resolve to a connection.', `Fix the option named above (dsql doctor --help lists them).`);
        }
        return `${config.host}:${config.port} (${config.kind === 'custom' ? 'custom host' : `${config.kind} endpoint`}), user ${config.user}, database ${config.database}`;
      },
    ],
    [
      'region',
      async () => {
        const envRegion = io.env['AWS_REGION'] || io.env['AWS_DEFAULT_REGION'];
        const source = config.kind === 'custom' ? (flags['region'] ? '--region' : 'AWS_REGION') : 'the endpoint';
        const ignored = config.kind !== 'custom' && envRegion && envRegion !== config.region ? ` (AWS_REGION=${envRegion} ignored: the endpoint names its Region)` : '';
        return `${config.region} (from ${source})${ignored}`;
      },
    ],
    [
      'dns',
      async () => {
        if (config.hostaddr) return `not used: dialling --hostaddr ${config.hostaddr} (${config.host} still names the cluster for SNI, certificate and token)`;
        try {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: `no answer within ${timeoutMs / 1000} s` })), timeoutMs);
          });
          const addresses = await Promise.race([lookup(config.host, { all: true }), timeout]).finally(() => clearTimeout(timer));
          return `${config.host} → ${addresses.map((a) => a.address).join(', ')}`;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
          return fail(
            'dns',
            `${config.host}: ${code}`,
            code === 'ENOTFOUND'
              ? 'The name does not resolve: a mistyped cluster id or Region, a deleted cluster, or a PrivateLink endpoint whose private DNS this network does not see.'
              : 'The resolver did not answer.',
            config.kind === 'privatelink' || code !== 'ENOTFOUND'
              ? "Check the VPC's DNS (private DNS of the interface endpoint), or pass the VPC endpoint's address as --hostaddr."
              : 'Check the endpoint in the console (aws dsql get-cluster); behind PrivateLink without private DNS, pass --hostaddr <VPC endpoint IP>.',
          );
        }
      },
    ],
    [
      'tcp',
      async () => {
        try {
          const ms = await probeTcp(config.dialHost, config.port, timeoutMs);
          return `${config.dialHost}:${config.port} reachable (${ms.toFixed(0)} ms)`;
        } catch (err) {
          const e = err as ProbeError;
          if (e.code === 'TIMEOUT')
            return fail(
              'tcp',
              `${config.dialHost}:${config.port}: no answer within ${timeoutMs / 1000} s`,
              'Packets are dropped on the way: a security group, network ACL or firewall without an egress rule for this port, or no route to the endpoint.',
              `Allow outbound TCP ${config.port} to the endpoint (and, behind PrivateLink, inbound on the VPC endpoint's security group).`,
            );
          return fail(
            'tcp',
            `${config.dialHost}:${config.port}: ${e.code === 'ECONNREFUSED' ? 'connection refused' : e.message}`,
            e.code === 'ECONNREFUSED' ? 'Nothing listens on that address and port.' : 'The connection failed.',
            e.code === 'ECONNREFUSED' ? `Check --port (DSQL listens on 5432) and the host or --hostaddr.` : 'Check the host, the port and the network path.',
          );
        }
      },
    ],
    [
      'tls',
      async () => {
        if (caFile && caFile !== 'system') {
          try {
            ca = readFileSync(caFile, 'utf8');
          } catch (err) {
            fail('tls', `cannot read the CA file ${caFile}`, (err as Error).message, 'Pass --ca-file with a readable PEM file, or leave it out to use the system roots.');
          }
        }
        try {
          const t = await probeTls({ host: config.dialHost, port: config.port, servername: config.host, ca, timeoutMs });
          return `verify-full: ${t.protocol}, certificate for ${t.subject} issued by ${t.issuer}, valid until ${t.validTo}; SNI ${config.host}`;
        } catch (err) {
          const e = err as ProbeError;
          const trust = caFile ? `the CA file ${caFile}` : "Node.js's root certificates";
          if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID')
            return fail('tls', `certificate does not name ${config.host}`, e.message, 'Connect with the cluster endpoint as --host (to dial an address, put it in --hostaddr).');
          if (/CERT|SELF_SIGNED|ISSUER|LEAF/.test(e.code))
            return fail(
              'tls',
              `certificate chain not trusted (${e.code})`,
              `The server's chain does not lead to a root in ${trust}: a TLS-intercepting proxy, or the wrong CA file.`,
              caFile ? 'Pass the CA that issued the endpoint’s certificate as --ca-file (or none: DSQL chains to Amazon’s public roots).' : 'Trust the proxy’s CA with --ca-file, or connect without the intercepting proxy.',
            );
          if (e.code === 'TIMEOUT')
            return fail(
              'tls',
              `TCP accepted, then no TLS answer within ${timeoutMs / 1000} s`,
              'Something between holds the connection without answering: a blackholing middlebox or a proxy that is not DSQL.',
              'Check the network path (proxies, VPC endpoint) and that this address is a DSQL endpoint.',
            );
          return fail('tls', e.message, 'The TLS handshake failed.', 'Check the endpoint and --ca-file.');
        }
      },
    ],
    [
      'credentials',
      async () => {
        const own = envCredentials(flags, io.env).credentials as { accessKeyId: string; expiration?: Date } | undefined;
        const source = own ? `static keys from the environment (AWS_ACCESS_KEY_ID ${masked(own.accessKeyId)})` : config.profile ? `profile ${config.profile}` : 'the default AWS credential chain';
        try {
          token = await signToken(config);
        } catch (err) {
          return fail(
            'credentials',
            `none from ${source}`,
            redact((err as Error).message),
            isDsqlError(err) && err.hint ? err.hint : 'Set AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or sign in (aws sso login).',
          );
        }
        // Core refuses expired credentials (the ✗ above); the ones in hand say when they lapse.
        // Only the environment's expiry is known here: core does not expose what the chain resolved.
        if (!own?.expiration) return source;
        const minutes = Math.floor((own.expiration.getTime() - Date.now()) / 60_000);
        return `${source}, expire ${own.expiration.toISOString()} (in ${minutes} min)`;
      },
    ],
    [
      'token',
      async () => {
        const params = new URLSearchParams(token.slice(token.indexOf('?')));
        const action = params.get('Action');
        const expires = Number(params.get('X-Amz-Expires'));
        const warning = lifetimeWarning(config) ? ' (over 15 minutes: a leaked token stays usable longer)' : '';
        return `${action} for ${config.user} at ${config.tokenHost} in ${config.region}, valid ${expires} s${warning}`;
      },
    ],
    [
      'auth',
      async () => {
        client = new pg.Client({
          host: config.dialHost,
          port: config.port,
          user: config.user,
          database: config.database,
          password: token,
          ssl: { servername: config.host, ...(ca ? { ca } : {}), rejectUnauthorized: true },
          connectionTimeoutMillis: timeoutMs,
          ...(config.options ? { options: config.options } : {}),
        });
        client.on('error', () => undefined); // a late socket error after a failed step must not crash the process
        try {
          await client.connect();
        } catch (err) {
          const described = describeConnectError(err, config);
          const sqlstate = (err as { code?: string }).code;
          const kind = classifyError(err).kind;
          const message = redact((err as Error).message);
          if (sqlstate === '53400' || /rate exceeded/i.test(message))
            return fail(
              'auth',
              `refused: ${message}`,
              "The cluster's connection rate (100 new connections per second, burst 1,000) is used up, by this client or others.",
              'Retry after a second; open connections through a pool and let @dsql adapters pace them (connectRateLimit).',
            );
          if (sqlstate === '53300')
            return fail('auth', `refused: ${message}`, 'The cluster has 10,000 connections open.', 'Close idle connections (pool max, idle timeouts) before opening more.');
          if (isDsqlError(described))
            return fail('auth', redact(described.message), message, described.hint ?? 'See the server hint above.');
          return fail('auth', `refused (${kind}): ${message}`, 'The server closed or refused the connection.', 'Run again; if it persists, check the endpoint and the hint above.');
        }
        return `accepted as ${config.user}`;
      },
    ],
    [
      'query',
      async () => {
        const times: number[] = [];
        for (let i = 0; i < 3; i++) {
          const started = performance.now();
          await client!.query('SELECT 1');
          times.push(performance.now() - started);
        }
        times.sort((a, b) => a - b);
        return `SELECT 1 in ${times[1]!.toFixed(1)} ms (median of 3 round trips)`;
      },
    ],
    [
      'clock',
      async () => {
        const before = Date.now();
        const { rows } = await client!.query('SELECT extract(epoch FROM clock_timestamp()) * 1000 AS ms');
        const after = Date.now();
        const skewS = (Number(rows[0].ms) - (before + after) / 2) / 1000;
        if (Math.abs(skewS) > 60)
          fail(
            'clock',
            `this machine's clock is ${Math.abs(skewS).toFixed(0)} s ${skewS > 0 ? 'behind' : 'ahead of'} the server's`,
            'Tokens carry their signing time: a skewed clock makes them look expired or not yet valid (SigV4 allows about 5 minutes).',
            'Synchronise the clock (NTP: chrony, systemd-timesyncd, w32time).',
          );
        return `within ${Math.abs(skewS).toFixed(1)} s of the server`;
      },
    ],
  ];

  try {
    for (const [step, run] of steps) {
      if (!values['json']) io.status?.(`… ${step}`); // never inside --json output
      try {
        report({ step, ok: true, detail: await run() });
      } catch (err) {
        if (err instanceof Failed) {
          report(err.result);
          return false;
        }
        report({ step, ok: false, detail: redact((err as Error).message), cause: 'Unexpected failure.', next: 'Run again; report it if it persists.' });
        return false;
      }
    }
    return true;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

export async function doctorCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...CONNECTION_FLAGS, timeout: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: false,
  });
  if (values.help) {
    io.out(DOCTOR_HELP);
    return 0;
  }
  const steps: DoctorStep[] = [];
  const ok = await walk(values, io, (s) => {
    steps.push(s);
    if (values.json) return;
    io.out(`${s.ok ? '✓' : '✗'} ${s.step.padEnd(12)}${s.detail}`);
    if (!s.ok) io.out(`  cause: ${s.cause}\n  next:  ${s.next}`);
  });
  if (values.json) io.out(JSON.stringify({ ok, steps }, null, 2));
  return ok ? 0 : 1;
}
