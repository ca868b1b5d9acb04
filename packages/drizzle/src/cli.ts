#!/usr/bin/env node
/**
 * `dsql-drizzle check [folder]`: lints a drizzle-kit migrations folder for Aurora DSQL without a
 * database (see `cli-main.ts`).
 */
import { runCli } from './cli-main.js';

runCli(process.argv.slice(2), { out: (t) => console.log(t), err: (t) => console.error(t) }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  },
);
