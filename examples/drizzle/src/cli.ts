#!/usr/bin/env node
/**
 * `pnpm start`: runs the bank against the cluster named by `DSQL_ENDPOINT` (credentials from the
 * default AWS chain: environment, profile, SSO, instance role…), or, when it is unset, against a
 * local DSQL endpoint (`@dsql/local`, an embedded PostgreSQL behind DSQL's wire rules).
 */
import { startDsqlLocal } from '@dsql/local';
import { main } from './main.js';

const log = (line: string): void => console.log(`  ${line}`);
const endpoint = process.env.DSQL_ENDPOINT;
if (endpoint) {
  console.log(`Drizzle bank on ${endpoint}`);
  await main({ connection: { host: endpoint }, log });
} else {
  console.log('Drizzle bank on @dsql/local (set DSQL_ENDPOINT to use a real cluster)');
  const local = await startDsqlLocal();
  try {
    await main({ connection: local.connectionOptions(), log });
  } finally {
    await local.stop();
  }
}
