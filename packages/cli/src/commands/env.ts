/** `dsql env`: `export` lines for libpq tools (psql, pg_dump, GUI tools started from the shell). */
import { parseArgs } from 'node:util';
import type { DsqlConfig } from '@dsql/core';
import { CONNECTION_FLAGS, CONNECTION_HELP, lifetimeWarning, resolveConnection, signToken } from '../connection.js';
import type { CliIo } from '../io.js';

export const ENV_HELP = `Usage: dsql env [connection options]

Prints export lines for libpq tools: PGHOST, PGHOSTADDR (when given), PGPORT, PGUSER,
PGDATABASE, PGSSLMODE=verify-full, PGSSLROOTCERT, PGOPTIONS (PrivateLink without private DNS)
and a fresh token as PGPASSWORD. PGSSLROOTCERT is --ca-file (or PGSSLROOTCERT) when given,
else "system" (the operating system's roots, which hold Amazon's; libpq 16 or later). With an
older libpq, pass --ca-file with a CA bundle (e.g. /etc/ssl/certs/ca-certificates.crt).

${CONNECTION_HELP}

Examples:
  eval "$(dsql env --host abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws)" && psql
  eval "$(dsql env --host <endpoint> --user app)" && pg_dump --schema-only > schema.sql`;

/** Single-quoted for POSIX shells (a `'` inside becomes `'\''`). */
export const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * The libpq environment of a connection (without the password).
 *
 * @example
 * libpqEnvironment(config, undefined).PGSSLMODE; // 'verify-full'
 */
export function libpqEnvironment(config: DsqlConfig, caFile: string | undefined): Record<string, string> {
  const vars: Record<string, string> = { PGHOST: config.host };
  if (config.hostaddr) vars['PGHOSTADDR'] = config.hostaddr;
  vars['PGPORT'] = String(config.port);
  vars['PGUSER'] = config.user;
  vars['PGDATABASE'] = config.database;
  vars['PGSSLMODE'] = 'verify-full';
  vars['PGSSLROOTCERT'] = caFile ?? 'system';
  if (config.options) vars['PGOPTIONS'] = config.options;
  return vars;
}

export async function envCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { ...CONNECTION_FLAGS, help: { type: 'boolean', short: 'h' } }, allowPositionals: false });
  if (values.help) {
    io.out(ENV_HELP);
    return 0;
  }
  const { config, caFile } = resolveConnection(values, io.env);
  const warning = lifetimeWarning(config);
  if (warning) io.err(warning);
  const vars = { ...libpqEnvironment(config, caFile), PGPASSWORD: await signToken(config) };
  io.out(Object.entries(vars).map(([k, v]) => `export ${k}=${shellQuote(v)}`).join('\n'));
  return 0;
}
