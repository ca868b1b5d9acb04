#!/usr/bin/env node
/**
 * `pnpm start`: serves the visit counter and its `/metrics` on `PORT` (default 9464, Prometheus'
 * usual exporter port) against the cluster named by `DSQL_ENDPOINT` (credentials from the default
 * AWS chain), or, when it is unset, against a local DSQL endpoint (`@dsql/local`). Stops on
 * Ctrl-C / SIGTERM, ending the pool and the local endpoint.
 */
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { startApp } from './app.js';

const endpoint = process.env.DSQL_ENDPOINT;
const port = Number(process.env.PORT ?? 9464);
let local: DsqlLocal | undefined;
if (!endpoint) local = await startDsqlLocal();
try {
  const app = await startApp({ connection: endpoint ? { host: endpoint } : local!.connectionOptions(), port });
  console.log(`visit counter on ${endpoint ?? '@dsql/local (set DSQL_ENDPOINT to use a real cluster)'}`);
  console.log(`  curl -X POST ${app.url}/visits/home`);
  console.log(`  curl ${app.url}/metrics | grep dsql_client_`);
  const shutdown = (): void => {
    void app
      .stop()
      .then(() => local?.stop())
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (err) {
  await local?.stop();
  throw err;
}
