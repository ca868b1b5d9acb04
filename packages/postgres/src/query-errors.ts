/**
 * `err.dsql` on the errors of plain queries (`` sql`…` ``, `sql.unsafe`, a transaction's `tx`,
 * a reserved connection), through Postgres.js 4's public `node:diagnostics_channel` events.
 *
 * Postgres.js 4 publishes every query on the `postgres:query` tracing channel; when a query
 * fails, the `tracing:postgres:query:error` event carries the very error object the query's
 * promise rejects with, and is published synchronously just before the rejection (query.js:
 * `reject()` → `traced()` → `finish()`, then `fail()`). A subscriber therefore sees the error
 * before the caller does, without wrapping `sql`, its queries or any Postgres.js prototype. The
 * error goes through core's error funnel (`classifyInPlace`) when the query ran on an endpoint
 * some `dsql()` talks to (the event names the connection's host and port).
 *
 * Postgres.js 3.4 publishes no such events: there, errors leaving `dsql()`'s own exits (a refused
 * connection, `sql.begin`, `transaction()`) carry `err.dsql`, and a plain query's error is
 * Postgres.js's own (`classifyError(err)` gives the same answer).
 *
 * Cost: with a subscriber, Postgres.js 4 builds a small trace object per query in this process
 * (every `sql`, not only `dsql()`'s); classification itself runs on errors only.
 */
import dc from 'node:diagnostics_channel';
import { classifyInPlace } from '@dsql/core';

/** The name Node gives the `error` event of Postgres.js 4's `postgres:query` tracing channel. */
const QUERY_ERROR_CHANNEL = 'tracing:postgres:query:error';

/** `host:port` of every endpoint a `dsql()` talks to in this process. */
const endpoints = new Set<string>();
let subscribed = false;

/** The fields of Postgres.js 4's query trace this module reads. */
interface QueryTrace {
  readonly host?: string | null;
  readonly port?: number | string | null;
  readonly error?: unknown;
}

function onQueryError(message: unknown): void {
  const trace = message as QueryTrace | null;
  if (typeof trace?.host === 'string' && endpoints.has(`${trace.host}:${String(trace.port)}`)) classifyInPlace(trace.error);
}

/**
 * Makes the errors of queries on `endpoint` carry `err.dsql` (Postgres.js 4; a no-op on 3.4,
 * which publishes nothing). Subscribes once per process; endpoints are remembered for the
 * process's life (a few strings).
 *
 * @example
 * classifyQueryErrors({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', port: 5432 });
 */
export function classifyQueryErrors(endpoint: { readonly host: string; readonly port: number }): void {
  endpoints.add(`${endpoint.host}:${endpoint.port}`);
  if (subscribed) return;
  subscribed = true;
  dc.subscribe(QUERY_ERROR_CHANNEL, onQueryError);
}
