/* eslint-disable @typescript-eslint/no-empty-object-type -- `{}` mirrors Postgres.js's own generic defaults, as dsql.ts does */
/**
 * `@dsql/postgres/browser`: `dsql()` for a web page (or any runtime with a global `WebSocket` and
 * no Node built-ins). A genuine Postgres.js `sql` whose connections go over WebSocket to DSQL's
 * `wss://<endpoint>:443`, authenticated with IAM tokens signed in the page by `@dsql/core/browser`
 * (the same `TokenProvider`: one signing per token lifetime, shared by every connection) from the
 * credentials the application supplies — an identity or, better, a provider of short-lived ones
 * (a Cognito identity pool's, for example).
 *
 * Built with Postgres.js inside and its Node built-ins replaced (browser-build.ts): a page's
 * bundler sees no `node:` import. What needs Node stays out: COPY streams, `sql.file()`, the
 * nested-transaction check (no AsyncLocalStorage in browsers), diagnostics channels.
 *
 * @example
 * import { dsql, transaction } from '@dsql/postgres/browser';
 *
 * const sql = dsql({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', user: 'app', credentials: getCredentials });
 * const total = await transaction(sql, async (tx) => {
 *   await tx`insert into visits (page) values (${location.pathname})`;
 *   const [row] = await tx`select count(*)::int as n from visits`;
 *   return row.n;
 * });
 */
import postgres from 'postgres';
import { createDsqlBrowserSession, type DsqlBrowserSessionOptions } from '@dsql/core/browser';
import type { DsqlSql, ManagedKeys } from './dsql.js';
import { nestingGuard, rememberSql } from './transaction.js';

export { transaction, type TransactionResult } from './transaction.js';
export type { DsqlSql } from './dsql.js';

/**
 * Postgres.js options the browser `dsql()` sets itself: the Node `dsql()`'s, and `socket` (the
 * WebSocket is its own).
 */
type BrowserManagedKeys = ManagedKeys | 'socket';

/**
 * Options of the browser {@link dsql}: where to connect, who signs, plus Postgres.js's own
 * options (`max`, `idle_timeout`, `connect_timeout`, `types`, `transform`, …) except the ones DSQL
 * manages.
 *
 * @example
 * const options: DsqlBrowserOptions = { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', user: 'app', credentials: getCredentials, max: 2 };
 */
export type DsqlBrowserOptions<T extends Record<string, postgres.PostgresType> = {}> = Omit<postgres.Options<T>, BrowserManagedKeys> &
  DsqlBrowserSessionOptions;

const createSql: typeof postgres =
  typeof postgres === 'function' ? postgres : (postgres as unknown as { default: typeof postgres }).default;

/**
 * Timers for Postgres.js without Node's `setImmediate` and `process.nextTick` (its `timers` option).
 */
const browserTimers = {
  setTimeout: globalThis.setTimeout.bind(globalThis),
  clearTimeout: globalThis.clearTimeout.bind(globalThis),
  setImmediate: (fn: () => void): ReturnType<typeof setTimeout> => globalThis.setTimeout(fn, 0),
  clearImmediate: (id: ReturnType<typeof setTimeout>): void => globalThis.clearTimeout(id),
  nextTick: (fn: (...args: unknown[]) => void, ...args: unknown[]): void => queueMicrotask(() => fn(...args)),
  now: (): number => performance.now(),
};

/** Postgres.js parses `Buffer`s (in this build: the `buffer` package's, see browser-shims/globals.ts). */
const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Creates a Postgres.js `sql` for Aurora DSQL over WebSocket, for a web page. Options are
 * validated at once (errors name the field); no connection opens until the first query.
 *
 * Contracts: every connection authenticates with a token from one `TokenProvider` (signed in the
 * page, cached until shortly before expiry; credentials asked for once and again only when they
 * expire); TLS is the WebSocket's (`wss://` only); each connection lives for a lifetime drawn
 * from `maxLifetimeSeconds`; {@link transaction} retries OCC conflicts and connection failures
 * before COMMIT, as on Node.
 *
 * @example
 * const sql = dsql({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', user: 'app', credentials: () => cognito.getCredentials() });
 * const rows = await sql`select now()`;
 */
export function dsql<T extends Record<string, postgres.PostgresType> = {}>(options: DsqlBrowserOptions<T>): DsqlSql<T> {
  // Validated at once (errors name the field); the connections' WebSockets open on demand.
  const session = createDsqlBrowserSession(options);

  const sql = createSql({
    timers: browserTimers,
    ...session.driverOptions,
    host: session.host,
    port: session.port,
    user: session.user,
    database: session.database,
    pass: () => session.tokens.getToken(),
    // TLS is the WebSocket's: no SSLRequest inside.
    ssl: false,
    socket: () => session.openSocket(toBuffer),
    // A function: Postgres.js calls it for each connection, so every connection gets its own lifetime.
    max_lifetime: () => session.lifetime.drawLifetimeSeconds(),
  } as unknown as postgres.Options<T>) as unknown as DsqlSql<T>;
  rememberSql(sql, { begin: sql.begin as postgres.Sql['begin'], retry: session.retry, nesting: nestingGuard(undefined), patch3: false });
  return sql;
}
