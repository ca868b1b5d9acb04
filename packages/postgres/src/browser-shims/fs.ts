/**
 * Browser stand-in for `fs` as Postgres.js uses it: `sql.file()`, certificate files and
 * `.pgpass`, none of which a page has (TLS comes from the WebSocket, the password is the token).
 */
import { unavailableInBrowser } from './unavailable.js';

function noFiles(): never {
  throw unavailableInBrowser('reading files (sql.file(), sslrootcert, .pgpass)', 'a page has no file system');
}

export default { readFile: noFiles, readFileSync: noFiles, statSync: noFiles };
