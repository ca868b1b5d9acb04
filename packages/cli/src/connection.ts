/**
 * The connection flags every networked command shares, resolved by core exactly as the adapters
 * resolve their options (explicit flag > environment > default), and the token signed for them.
 */
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './io.js';
import { resolveConfig, TokenProvider, type DsqlConfig, type DsqlConnectionOptions } from '@dsql/core';

/** `parseArgs` options of the connection flags. */
export const CONNECTION_FLAGS = {
  host: { type: 'string' },
  region: { type: 'string' },
  port: { type: 'string' },
  user: { type: 'string' },
  database: { type: 'string' },
  hostaddr: { type: 'string' },
  profile: { type: 'string' },
  'expires-in': { type: 'string' },
  'ca-file': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** Help lines of the connection flags. */
export const CONNECTION_HELP = `Connection (flag > environment > default, as the @dsql adapters read them):
  --host <endpoint>       cluster endpoint or bare cluster id            (PGHOST)
  --region <region>       AWS Region; default: from the endpoint        (AWS_REGION, AWS_DEFAULT_REGION)
  --port <n>              default 5432                                   (PGPORT)
  --user <role>           default admin (signs DbConnectAdmin; other roles DbConnect)  (PGUSER)
  --database <name>       default postgres                               (PGDATABASE)
  --hostaddr <ip>         address to dial (PrivateLink); host still names the cluster  (PGHOSTADDR)
  --profile <name>        AWS profile for credentials                    (AWS_PROFILE)
  --expires-in <s>        token lifetime in seconds, 1..604800; default 900
  --ca-file <path>        root certificate(s) to verify the server with  (PGSSLROOTCERT)`;

export type ConnectionFlags = { [K in keyof typeof CONNECTION_FLAGS]?: string | undefined };

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--${flag}: expected a whole number (got ${JSON.stringify(value)})`);
  return Number(value);
}

/**
 * The connection flags as core's options (only those given: core fills in the environment).
 *
 * @example
 * connectionOptions({ host: 'abc…', 'expires-in': '3600' }); // { host: 'abc…', tokenDurationSecs: 3600 }
 */
export function connectionOptions(flags: ConnectionFlags): DsqlConnectionOptions {
  const options: DsqlConnectionOptions = {};
  if (flags.host !== undefined) options.host = flags.host;
  if (flags.region !== undefined) options.region = flags.region;
  if (flags.port !== undefined) options.port = integer('port', flags.port)!;
  if (flags.user !== undefined) options.user = flags.user;
  if (flags.database !== undefined) options.database = flags.database;
  if (flags.hostaddr !== undefined) options.hostaddr = flags.hostaddr;
  if (flags.profile !== undefined) options.profile = flags.profile;
  const expires = integer('expires-in', flags['expires-in']);
  if (expires !== undefined) options.tokenDurationSecs = expires;
  return options;
}

/**
 * Static keys from the command's environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN`, `AWS_CREDENTIAL_EXPIRATION`: core refuses to sign with expired ones), as the credential chain's first step would read them — from the
 * environment the command was given rather than the process's (a program or test running
 * `runCli` with an environment of its own). Without them (or with --profile) the chain runs.
 *
 * @example
 * envCredentials({}, { AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: '…' }); // { credentials: { accessKeyId: 'AKID', … } }
 */
export function envCredentials(flags: ConnectionFlags, env: Record<string, string | undefined>): DsqlConnectionOptions {
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (flags.profile !== undefined || !accessKeyId || !secretAccessKey) return {};
  const sessionToken = env['AWS_SESSION_TOKEN'];
  // Read as core (and the SDK's fromEnv) read it: an unparsable value is ignored.
  const expiry = env['AWS_CREDENTIAL_EXPIRATION'] ? new Date(env['AWS_CREDENTIAL_EXPIRATION']) : undefined;
  const expiration = expiry !== undefined && !Number.isNaN(expiry.getTime()) ? { expiration: expiry } : {};
  return { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), ...expiration } };
}

/** Resolved options and the root certificate file (flag, else `PGSSLROOTCERT`). */
export interface ResolvedConnection {
  config: DsqlConfig;
  caFile: string | undefined;
}

/**
 * Resolves the connection flags with core's `resolveConfig` against `env`.
 *
 * @example
 * const { config } = resolveConnection({ host: 'abc…' }, process.env);
 */
export function resolveConnection(flags: ConnectionFlags, env: Record<string, string | undefined>): ResolvedConnection {
  const config = resolveConfig({}, { ...connectionOptions(flags), ...envCredentials(flags, env) }, env);
  return { config, caFile: flags['ca-file'] ?? (env['PGSSLROOTCERT'] || undefined) };
}

/** DSQL's default token lifetime; longer ones get a warning (a leaked token stays valid longer). */
export const DEFAULT_LIFETIME_SECS = 900;

/**
 * Signs a fresh token for a resolved config (`DbConnectAdmin` for `admin`, `DbConnect` otherwise),
 * with core's token provider and the default AWS credential chain (or `profile`).
 *
 * @example
 * const token = await signToken(resolveConnection(flags, process.env).config);
 */
export function signToken(config: DsqlConfig): Promise<string> {
  return new TokenProvider({
    host: config.tokenHost,
    region: config.region,
    user: config.user,
    admin: config.admin,
    profile: config.profile,
    credentials: config.credentials,
    tokenDurationSecs: config.tokenDurationSecs,
  }).getToken();
}

/** The warning `token`, `env` and `psql` print on stderr for a lifetime over 15 minutes. */
export function lifetimeWarning(config: DsqlConfig): string | undefined {
  if (config.tokenDurationSecs <= DEFAULT_LIFETIME_SECS) return undefined;
  return (
    `dsql: warning: this token is valid for ${config.tokenDurationSecs} s (over 15 minutes): anyone who sees it can connect as ` +
    `"${config.user}" until then. A token is only checked when a connection opens, so the default 900 s is enough for a session.`
  );
}
