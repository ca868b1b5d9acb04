/** `dsql local …`: the `dsql-local` command of `@dsql/local`, with the same flags. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CliIo } from '../io.js';
import { runChild } from './psql.js';

export const LOCAL_HELP = `Usage: dsql local [dsql-local options]

Starts a local Aurora DSQL endpoint (@dsql/local: TLS, IAM token checks, DSQL's limits and SQL
rules in front of an embedded PostgreSQL 16) and prints how to connect; Ctrl+C stops it.
The options are dsql-local's (dsql local --help lists them). @dsql/local is an optional peer
dependency of @dsql/cli: npm install -D @dsql/local.

Examples:
  dsql local
  dsql local --port 5433 --region us-west-2
  dsql local --regions us-east-1,us-east-2`;

/** The path of `@dsql/local`'s `dsql-local` script, or undefined when it is not installed. */
function dsqlLocalBin(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('@dsql/local/package.json');
    const bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> }).bin?.['dsql-local'];
    return bin ? join(dirname(manifest), bin) : undefined;
  } catch {
    return undefined;
  }
}

export async function localCommand(args: string[], io: CliIo): Promise<number> {
  const bin = dsqlLocalBin();
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
    io.out(LOCAL_HELP);
    if (!bin) return 0;
    io.out('');
    // dsql-local's own option list follows.
    return runChild(process.execPath, [bin, '--help'], io.env, { ...io, interactive: false });
  }
  if (!bin) {
    io.err('dsql local: @dsql/local is not installed next to @dsql/cli. Install it: npm install -D @dsql/local (it brings an embedded PostgreSQL).');
    return 2;
  }
  return runChild(process.execPath, [bin, ...args], io.env, io, true);
}
