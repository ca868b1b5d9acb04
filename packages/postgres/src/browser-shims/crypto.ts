/**
 * Browser stand-in for `crypto` as Postgres.js uses it: SCRAM-SHA-256 and MD5 password
 * authentication. DSQL authenticates with the IAM token as a cleartext password over TLS, so a
 * server asking for SCRAM or MD5 is not DSQL (nor @dsql/local).
 */
import { unavailableInBrowser } from './unavailable.js';

function passwordHashing(): never {
  throw unavailableInBrowser('SCRAM/MD5 password authentication', 'DSQL authenticates with an IAM token (cleartext over TLS)');
}

export default { randomBytes: passwordHashing, createHash: passwordHashing, createHmac: passwordHashing };
