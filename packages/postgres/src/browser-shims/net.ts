/**
 * Browser stand-in for `net` and `tls` as Postgres.js uses them: TCP and TLS sockets, which a
 * page does not have. `dsql()` from `@dsql/postgres/browser` always passes its WebSocket as
 * Postgres.js's `socket` option, so these are never reached from it.
 */
import { unavailableInBrowser } from './unavailable.js';

function noSockets(): never {
  throw unavailableInBrowser('TCP/TLS sockets', 'connect over WebSocket (dsql() from @dsql/postgres/browser does)');
}

export default { connect: noSockets, createSecureContext: noSockets };
