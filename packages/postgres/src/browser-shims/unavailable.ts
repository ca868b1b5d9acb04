/**
 * The error a Node-only Postgres.js feature throws in a browser build of `@dsql/postgres`
 * (see ../../browser-build.ts): what was called and why it is not there.
 */
export function unavailableInBrowser(what: string, why: string): Error {
  return Object.assign(new Error(`${what} is not available in a browser: ${why}`), { code: 'DSQL_BROWSER_UNSUPPORTED' });
}
