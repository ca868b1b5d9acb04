/**
 * A small `@dsql/pg` pool for the commands that run SQL (`migrate`), and the migration toolkit's
 * session over it.
 */
import { readFileSync } from 'node:fs';
import { isOccError, withRetry } from '@dsql/core';
import type { MigrationRow, MigrationSession, MigrationSql } from '@dsql/core/migrations';
import { DsqlPool } from '@dsql/pg';
import { connectionOptions, envCredentials, type ConnectionFlags } from './connection.js';
import { UsageError } from './io.js';

/**
 * A pool on the connection the flags and environment name (core resolves them, as in every adapter).
 *
 * @example
 * const pool = openPool({ host }, process.env);
 */
export function openPool(flags: ConnectionFlags, env: Record<string, string | undefined>): DsqlPool {
  const caFile = flags['ca-file'] ?? (env['PGSSLROOTCERT'] || undefined);
  let ca: string | undefined;
  if (caFile && caFile !== 'system') {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--ca-file: cannot read ${JSON.stringify(caFile)} (${(err as Error).message})`);
    }
  }
  // core's resolveConfig reads PGHOST & co. from process.env: hand it the command's environment.
  return new DsqlPool({ ...envOptions(env), ...connectionOptions(flags), ...envCredentials(flags, env), ...(ca ? { ssl: { ca } } : {}), max: 2 });
}

/** The PG… and AWS_… variables the adapters read, as options (so a test's or a program's env is honoured). */
function envOptions(env: Record<string, string | undefined>): Record<string, string> {
  const map: Record<string, string> = { PGHOST: 'host', PGHOSTADDR: 'hostaddr', PGPORT: 'port', PGUSER: 'user', PGDATABASE: 'database', AWS_PROFILE: 'profile' };
  const out: Record<string, string> = {};
  for (const [variable, option] of Object.entries(map)) if (env[variable]) out[option] = env[variable]!;
  const region = env['AWS_REGION'] || env['AWS_DEFAULT_REGION'];
  if (region) out['region'] = region;
  return out;
}

const runner = (q: { query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }> }): MigrationSql => ({
  query: async (text, params) => ({ rows: (await q.query(text, params ? [...params] : undefined)).rows as MigrationRow[] }),
});

/**
 * The migration toolkit's session over a pool: statements in autocommit, bookkeeping
 * transactions retried on OCC conflicts (and whatever else the toolkit asks to retry).
 *
 * @example
 * await applyMigrations(sessionOf(pool), migrations, run);
 */
export function sessionOf(pool: DsqlPool): MigrationSession {
  return {
    ...runner(pool),
    transaction: (fn, retryOn) =>
      withRetry(() => pool.transaction((client) => fn(runner(client)), false), { retryOn: (err) => isOccError(err) || (retryOn?.(err) ?? false) }),
  };
}
