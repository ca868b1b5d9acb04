#!/usr/bin/env node
/**
 * The `dsql` binary: runs `runCli` (main.ts) on this process's arguments, terminal and environment.
 */
import { runCli } from './main.js';

// On a terminal, a status line is rewritten in place (carriage return, erase line) and cleared
// by the next line of output.
const tty = process.stdout.isTTY === true;
const CLEAR = '\r\x1b[K';

runCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(`${tty ? CLEAR : ''}${t}\n`),
  ...(tty ? { status: (t: string) => process.stdout.write(`${CLEAR}${t}`) } : {}),
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
