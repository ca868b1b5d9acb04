/** `dsql token`: prints a fresh IAM authentication token. */
import { parseArgs } from 'node:util';
import { CONNECTION_FLAGS, CONNECTION_HELP, lifetimeWarning, resolveConnection, signToken } from '../connection.js';
import type { CliIo } from '../io.js';

export const TOKEN_HELP = `Usage: dsql token [connection options]

Prints an IAM authentication token for the cluster (DbConnectAdmin for the admin role,
DbConnect for any other), signed locally with the AWS credentials the SDK's default chain
finds (or --profile). No AWS CLI needed. Warns on stderr when --expires-in is over 900 s.

${CONNECTION_HELP}

Examples:
  dsql token --host abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws
  PGPASSWORD=$(dsql token --host <endpoint> --user app) pg_dump -h <endpoint> -U app postgres
  dsql token --host <endpoint> --expires-in 3600 --profile dev`;

export async function tokenCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { ...CONNECTION_FLAGS, help: { type: 'boolean', short: 'h' } }, allowPositionals: false });
  if (values.help) {
    io.out(TOKEN_HELP);
    return 0;
  }
  const { config } = resolveConnection(values, io.env);
  const warning = lifetimeWarning(config);
  if (warning) io.err(warning);
  io.out(await signToken(config));
  return 0;
}
