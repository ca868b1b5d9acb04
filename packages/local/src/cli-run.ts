/**
 * The `dsql-local` command without its process wiring (signals, exit), so it can be tested:
 * parses flags, starts the endpoint (or, with `--regions`, a multi-Region cluster), writes the
 * CA file and prints how to connect.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DsqlLocalOptions } from './options.js';
import { startDsqlLocalCluster, type DsqlLocalCluster } from './cluster/cluster.js';
import { startDsqlLocal, type DsqlLocal } from './server.js';

/** Usage text of `dsql-local --help`. */
export const HELP = `Usage: dsql-local [options]

Starts a local Aurora DSQL endpoint (TLS, IAM token auth, DSQL's limits and SQL rules)
in front of a private PostgreSQL 16 or a PostgreSQL you run.

Options:
  --port <n>                     port on 127.0.0.1 (default 0: any free port)
  --region <region>              region of the emulated cluster (default us-east-1)
  --regions <r1,r2,...>          a multi-Region cluster: one endpoint per Region over one
                                 PostgreSQL (instead of --region, --cluster-id and --port)
  --cluster-id <id>              26-character cluster id (default: generated)
  --upstream <embedded|url>      'embedded' (default) or postgres://user:pass@host:port/db
  --max-connections <n>          default 10000
  --connect-rate <perSec,burst>  default 100,1000; 'off' disables
  --max-connection-age <s>       default 3600
  --max-transaction-age <s>      default 300
  --max-handshakes <n>           unauthenticated connections kept (default 1000)
  --handshake-timeout <s>        time to authenticate (default 10)
  --ca-file <path>               where to write the CA certificate (default: a temp file)
  --websocket                    also serve PostgreSQL over WebSocket (wss://, any free port)
  --websocket-port <n>           the same on this port
  -h, --help                     show this help
`;

/** A started command: the endpoint, its CA file, and how to stop both. */
export interface CliRun {
  /** The endpoint (with `--regions`: the first Region's). */
  dsql: DsqlLocal;
  /** With `--regions`: the cluster, whose endpoints are all printed. */
  cluster: DsqlLocalCluster | undefined;
  caFile: string;
  /** Stops the endpoint and removes the CA file (idempotent). */
  stop(): Promise<void>;
  /** Removes the CA file synchronously (for process 'exit'). */
  removeCaFile(): void;
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new TypeError(`--${name}: expected a number (got ${JSON.stringify(v)})`);
  return n;
}

/**
 * Runs `dsql-local` with `args`; resolves undefined for `--help`. Output goes to `print`.
 *
 * @example
 * const run = await runCli(['--port', '0', '--region', 'eu-west-1'], console.log);
 * await run?.stop();
 */
export async function runCli(args: readonly string[], print: (text: string) => void): Promise<CliRun | undefined> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: 'string' },
      region: { type: 'string' },
      regions: { type: 'string' },
      'cluster-id': { type: 'string' },
      upstream: { type: 'string' },
      'max-connections': { type: 'string' },
      'connect-rate': { type: 'string' },
      'max-connection-age': { type: 'string' },
      'max-transaction-age': { type: 'string' },
      'max-handshakes': { type: 'string' },
      'handshake-timeout': { type: 'string' },
      'ca-file': { type: 'string' },
      websocket: { type: 'boolean' },
      'websocket-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    print(HELP);
    return undefined;
  }
  let connectRate: DsqlLocalOptions['connectRate'];
  const rate = values['connect-rate'];
  if (rate === 'off') connectRate = false;
  else if (rate !== undefined) {
    const [perSecond, burst, ...extra] = rate.split(',').map(Number);
    if (!Number.isFinite(perSecond) || !Number.isFinite(burst) || extra.length) {
      throw new TypeError(`--connect-rate: expected <perSecond>,<burst> or 'off' (got ${JSON.stringify(rate)})`);
    }
    connectRate = { perSecond: perSecond!, burst: burst! };
  }
  const shared = {
    upstream: values.upstream,
    maxConnections: num('max-connections', values['max-connections']),
    connectRate,
    maxConnectionAgeSeconds: num('max-connection-age', values['max-connection-age']),
    maxTransactionAgeSeconds: num('max-transaction-age', values['max-transaction-age']),
    maxHandshakes: num('max-handshakes', values['max-handshakes']),
    handshakeTimeoutSeconds: num('handshake-timeout', values['handshake-timeout']),
  };
  let cluster: DsqlLocalCluster | undefined;
  let dsql: DsqlLocal;
  if (values.regions !== undefined) {
    for (const flag of ['region', 'cluster-id', 'port'] as const) {
      if (values[flag] !== undefined) throw new TypeError(`--${flag}: not with --regions (each Region's endpoint gets its own)`);
    }
    const regions = values.regions.split(',').map((r) => r.trim());
    cluster = await startDsqlLocalCluster({ ...shared, regions });
    dsql = cluster.endpoints[0]!;
  } else {
    const webSocketPort = num('websocket-port', values['websocket-port']);
    const webSocket = values.websocket || webSocketPort !== undefined ? (webSocketPort === undefined ? true : { port: webSocketPort }) : undefined;
    dsql = await startDsqlLocal({ ...shared, port: num('port', values.port), region: values.region, clusterId: values['cluster-id'], webSocket });
  }
  const endpoints = cluster ? cluster.endpoints : [dsql];
  let caDir: string | undefined;
  let caFile = values['ca-file'];
  if (!caFile) {
    caDir = mkdtempSync(join(tmpdir(), 'dsql-local-ca-'));
    caFile = join(caDir, 'ca.pem');
  }
  writeFileSync(caFile, dsql.ca);
  const file = caFile;
  const removeCaFile = (): void => {
    if (caDir) rmSync(caDir, { recursive: true, force: true });
    else rmSync(file, { force: true });
  };

  if (cluster) {
    print(`dsql-local: Aurora DSQL multi-Region cluster ready (${endpoints.length} Regional endpoints over one PostgreSQL)
${endpoints.map((e) => `  ${e.region.padEnd(15)} endpoint ${e.host}  hostaddr ${e.hostaddr}  port ${e.port}`).join('\n')}
  CA        ${file}

# Credentials accepted by every endpoint (local only); a token is valid only for the endpoint it names:
export AWS_ACCESS_KEY_ID=${dsql.credentials.accessKeyId}
export AWS_SECRET_ACCESS_KEY=${dsql.credentials.secretAccessKey}
export PGUSER=admin PGDATABASE=postgres PGSSLMODE=verify-full PGSSLROOTCERT=${file}
${endpoints
  .map(
    (e) => `# ${e.region}:
#   PGHOST=${e.host} PGHOSTADDR=${e.hostaddr} PGPORT=${e.port} AWS_REGION=${e.region} \\
#   PGPASSWORD=$(aws dsql generate-db-connect-admin-auth-token --hostname ${e.host} --region ${e.region}) psql`,
  )
  .join('\n')}

Press Ctrl+C to stop.`);
  } else {
    print(`dsql-local: Aurora DSQL endpoint ready
  endpoint  ${dsql.host}
  hostaddr  ${dsql.hostaddr}
  port      ${dsql.port}${dsql.webSocketUrl ? `\n  websocket ${dsql.webSocketUrl} (dial ${dsql.hostaddr})` : ''}
  region    ${dsql.region}
  CA        ${file}

# Credentials accepted by this endpoint (local only) and libpq-style settings:
export AWS_ACCESS_KEY_ID=${dsql.credentials.accessKeyId}
export AWS_SECRET_ACCESS_KEY=${dsql.credentials.secretAccessKey}
export AWS_REGION=${dsql.region}
export PGHOST=${dsql.host} PGHOSTADDR=${dsql.hostaddr} PGPORT=${dsql.port} PGUSER=admin PGDATABASE=postgres
export PGSSLMODE=verify-full PGSSLROOTCERT=${file}
# A token as password (AWS CLI), then e.g. psql:
export PGPASSWORD=$(aws dsql generate-db-connect-admin-auth-token --hostname ${dsql.host} --region ${dsql.region})

Press Ctrl+C to stop.`);
  }

  let stopping: Promise<void> | undefined;
  return {
    dsql,
    cluster,
    caFile: file,
    removeCaFile,
    stop: () =>
      (stopping ??= (cluster ?? dsql).stop().finally(removeCaFile)),
  };
}
