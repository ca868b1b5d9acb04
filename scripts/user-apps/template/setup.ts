// Imported first by every quick start: values for the names globals.d.ts declares. The endpoint
// comes from the environment the harness sets from `dsql-local`'s export lines (PGHOST,
// PGHOSTADDR, PGPORT, AWS_*), with NODE_EXTRA_CA_CERTS trusting its CA.
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import * as quickstartSchema from './schema.js';

globalThis.from = 'a';
globalThis.to = 'b';
globalThis.id = 'p1';
globalThis.host = process.env.PGHOST ?? 'PGHOST is not set';
globalThis.accounts = quickstartSchema.accounts;
globalThis.schema = quickstartSchema;
globalThis.provider = {
  async getMigrations() {
    return {
      '0001_quickstart': {
        async up(db) {
          await sql`CREATE TABLE IF NOT EXISTS kysely_quickstart (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), note text)`.execute(db);
        },
      },
    };
  },
};
globalThis.dsql = {
  host: process.env.PGHOST,
  hostaddr: process.env.PGHOSTADDR,
  port: Number(process.env.PGPORT),
  region: process.env.AWS_REGION,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
  ca: process.env.NODE_EXTRA_CA_CERTS ? readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8') : undefined,
} as unknown as typeof globalThis.dsql;
