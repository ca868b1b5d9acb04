import type { DsqlConnectionOptions } from './options.js';

/**
 * Every key of the shared DSQL options ({@link DsqlConnectionOptions}) plus
 * `detectNestedTransactions`: the options core resolves, which an adapter never hands to its
 * driver. Kept here, once, so an option added to core is withheld from every driver at once
 * (each adapter kept its own copy of this list before, and the copies had to be edited together).
 *
 * @example
 * DSQL_OPTION_KEYS.includes('tokenDurationSecs') // true
 */
export const DSQL_OPTION_KEYS = Object.freeze([
  'connectionString', 'host', 'region', 'port', 'user', 'database', 'hostaddr', 'clusterId',
  'credentials', 'profile', 'tokenDurationSecs', 'admin', 'sslmode', 'ssl', 'retry',
  'maxLifetimeSeconds', 'connectRateLimit', 'applicationName', 'applicationNamePrefix', 'options',
  'endpoints', 'endpointSelection', 'endpointProbe', 'logger', 'transport', 'webSocketUrl',
  'webSocketConstructor', 'detectNestedTransactions',
] as const);

// Fails to compile when DsqlConnectionOptions gains a key this list lacks.
type Unlisted = Exclude<keyof DsqlConnectionOptions, (typeof DSQL_OPTION_KEYS)[number]>;
const listsEveryOption: [Unlisted] extends [never] ? true : Unlisted = true;
void listsEveryOption;

/**
 * A copy of `options` without the shared DSQL options ({@link DSQL_OPTION_KEYS}) and without
 * `alsoDrop` (an adapter's own options): what is left is the driver's. Never mutates `options`.
 *
 * @example
 * withoutDsqlOptions({ host: 'h', max: 10, queryRetry: true }, ['queryRetry']) // { max: 10 }
 */
export function withoutDsqlOptions(options: object | undefined, alsoDrop: readonly string[] = []): Record<string | symbol, unknown> {
  const out: Record<string | symbol, unknown> = { ...(options ?? {}) };
  for (const key of [...DSQL_OPTION_KEYS, ...alsoDrop]) delete out[key];
  return out;
}
