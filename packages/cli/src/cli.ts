#!/usr/bin/env node
/**
 * The `dsql` binary: runs `runCli` (main.ts) on this process's arguments, terminal and environment.
 */
import { runCli } from './main.js';

runCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  env: process.env,
  cwd: process.cwd(),
  interactive: true,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 2;
  },
);
