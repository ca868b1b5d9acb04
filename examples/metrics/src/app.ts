/**
 * A small HTTP service on Aurora DSQL (`@dsql/pg`) that exposes what the connector does as
 * Prometheus metrics. `DsqlInstrumentation` (`@dsql/opentelemetry`) turns `@dsql/core`'s
 * diagnostics events into OpenTelemetry metrics; OpenTelemetry's `PrometheusExporter` renders them
 * on `GET /metrics` of the service's own HTTP server (so one port serves the app and its metrics).
 *
 * Routes:
 * - `POST /visits/<page>` counts a visit to `<page>` in one transaction (read, then upsert) —
 *   visits to the same page at the same moment conflict at COMMIT (OCC, 40001) and
 *   `pool.transaction()` runs them again; answers `{ page, visits, attempts }`;
 * - `GET /visits/<page>` answers `{ page, visits }`;
 * - `GET /metrics` answers the Prometheus text format (`dsql_client_*` series among them).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DsqlInstrumentation } from '@dsql/opentelemetry';
import { DsqlPool, type DsqlPoolConfig } from '@dsql/pg';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

export interface AppOptions {
  /** Shared DSQL options: a cluster (`{ host }`) or `startDsqlLocal().connectionOptions()`. */
  connection: DsqlPoolConfig;
  /** Port to listen on; `0` (the default) picks a free one — read it from `app.url`. */
  port?: number;
  /** Address to listen on (default `127.0.0.1`). */
  host?: string;
  /** Pool size (default 4). */
  max?: number;
}

/** A running service: its address and how to stop it. */
export interface App {
  /** `http://host:port` the service listens on. */
  readonly url: string;
  /** The service's pool (to run your own queries beside it). */
  readonly pool: DsqlPool;
  /** Stops the HTTP server, ends the pool and shuts the metrics pipeline down. Safe to call twice. */
  stop(): Promise<void>;
}

/** The table of page visits, in this example's own schema (one DDL statement per transaction, as DSQL requires). */
const SCHEMA = [
  'CREATE SCHEMA IF NOT EXISTS metrics_example',
  'CREATE TABLE IF NOT EXISTS metrics_example.visits (page text PRIMARY KEY, visits bigint NOT NULL)',
];

const PAGE = /^\/visits\/([A-Za-z0-9_-]{1,64})$/;

/**
 * Starts the service: metrics pipeline first (so the connector's first connection is counted),
 * then the pool and its schema, then the HTTP server.
 *
 * @example
 * const app = await startApp({ connection: { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' }, port: 9464 });
 * // curl -X POST $URL/visits/home; curl $URL/metrics | grep dsql_client_
 * await app.stop();
 */
export async function startApp(options: AppOptions): Promise<App> {
  // The exporter renders on request; our server routes /metrics to it (no second port).
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const unregister = registerInstrumentations({ instrumentations: [new DsqlInstrumentation()], meterProvider });

  const pool = new DsqlPool({ ...options.connection, max: options.max ?? 4 });
  // An idle connection the server closes is reported (and counted) by the connector; it must not crash the service.
  pool.on('error', () => {});
  let server: Server | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      await pool.end();
      unregister();
      await meterProvider.shutdown();
    })());

  try {
    for (const statement of SCHEMA) await pool.query(statement);
    server = createServer((req, res) => {
      route(req, res, pool, exporter).catch((err: unknown) => reply(res, 500, { error: err instanceof Error ? err.message : String(err) }));
    });
    const s = server;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, pool, stop };
}

async function route(req: IncomingMessage, res: ServerResponse, pool: DsqlPool, exporter: PrometheusExporter): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  if (path === '/metrics' && req.method === 'GET') return exporter.getMetricsRequestHandler(req, res);
  const page = PAGE.exec(path)?.[1];
  if (page && req.method === 'POST') return reply(res, 200, await visit(pool, page));
  if (page && req.method === 'GET') {
    const { rows } = await pool.query<{ visits: string }>('SELECT visits FROM metrics_example.visits WHERE page = $1', [page]);
    return reply(res, 200, { page, visits: Number(rows[0]?.visits ?? 0) });
  }
  reply(res, 404, { error: 'not found: POST or GET /visits/<page>, GET /metrics' });
}

/** Counts one visit in one transaction; an OCC conflict at COMMIT runs the callback again. */
async function visit(pool: DsqlPool, page: string): Promise<{ page: string; visits: number; attempts: number }> {
  let attempts = 0;
  const visits = await pool.transaction(async (tx) => {
    attempts += 1;
    const { rows } = await tx.query<{ visits: string }>('SELECT visits FROM metrics_example.visits WHERE page = $1', [page]);
    const next = Number(rows[0]?.visits ?? 0) + 1;
    await tx.query(
      'INSERT INTO metrics_example.visits (page, visits) VALUES ($1, $2) ON CONFLICT (page) DO UPDATE SET visits = excluded.visits',
      [page, next],
    );
    return next;
  });
  return { page, visits, attempts };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
