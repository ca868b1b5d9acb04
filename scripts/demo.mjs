#!/usr/bin/env node
// `pnpm demo`: the whole library on a laptop, no AWS account. Starts a local Aurora DSQL endpoint
// (@dsql/local: TLS, IAM-token auth, DSQL's SQL rules and OCC, in front of an embedded
// PostgreSQL 16), runs every example app against it, prints what each did, stops everything.
// The root script builds the examples (and the packages they use) first.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = (path) => {
  const file = join(root, path);
  if (!existsSync(file)) throw new Error(`${path} is missing: run \`pnpm demo\` from the repository root (it builds first)`);
  return import(pathToFileURL(file).href);
};

const examples = [
  { dir: 'pg', title: 'node-postgres — @dsql/pg' },
  { dir: 'postgres', title: 'Postgres.js — @dsql/postgres' },
  { dir: 'kysely', title: 'Kysely — @dsql/kysely (Migrator)' },
  { dir: 'drizzle', title: 'Drizzle — @dsql/drizzle (drizzle-kit migrations)' },
];

const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const started = performance.now();
const { startDsqlLocal } = await built('packages/local/dist/index.js');

process.stdout.write('Starting @dsql/local on an embedded PostgreSQL 16 … ');
const local = await startDsqlLocal();
let failed = false;
try {
  console.log(`ready in ${seconds(started)}`);
  console.log(`  endpoint ${local.host} (dialled at ${local.hostaddr}:${local.port}, TLS verify-full, IAM tokens)\n`);
  for (const { dir, title } of examples) {
    const t = performance.now();
    console.log(`${title}  (examples/${dir})`);
    try {
      const { main } = await built(`examples/${dir}/dist/main.js`);
      await main({ connection: local.connectionOptions(), log: (line) => console.log(`  ${line}`) });
      console.log(`  done in ${seconds(t)}\n`);
    } catch (err) {
      failed = true;
      console.log(`  FAILED: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
  }
  const s = local.stats();
  console.log(
    `@dsql/local saw ${s.authenticated} IAM-authenticated connections, ${s.queries} statements, ` +
      `${s.occConflicts} OCC conflicts (40001) — all retried by the adapters.`,
  );
} finally {
  await local.stop();
}
console.log(`${failed ? 'Demo FAILED' : 'Demo finished'} in ${seconds(started)}; local endpoint and PostgreSQL stopped.`);
console.log('Next: `pnpm test` runs every test; `DSQL_ENDPOINT=<your cluster endpoint> pnpm --filter example-pg start` runs one example on a real cluster.');
process.exit(failed ? 1 : 0);
