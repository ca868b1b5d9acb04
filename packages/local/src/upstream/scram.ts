/**
 * SCRAM-SHA-256 client (RFC 5802 / 7677) for authenticating to an upstream PostgreSQL.
 * Hand-written because `pg` (which has one) is only a dev dependency and does not export it;
 * it is a few HMACs over node:crypto.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** State between the client-first and client-final messages. */
export interface ScramState {
  clientNonce: string;
  clientFirstBare: string;
  password: string;
  serverSignature?: Buffer;
}

/** Starts an exchange: returns the state and the client-first message. */
export function scramStart(password: string): { state: ScramState; clientFirst: string } {
  const clientNonce = randomBytes(18).toString('base64');
  const clientFirstBare = `n=*,r=${clientNonce}`;
  return { state: { clientNonce, clientFirstBare, password }, clientFirst: `n,,${clientFirstBare}` };
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** Answers the server-first message; returns the client-final message. */
export function scramContinue(state: ScramState, serverFirst: string): string {
  const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
  const nonce = attrs.get('r');
  const salt = attrs.get('s');
  const iterations = Number(attrs.get('i'));
  if (!nonce?.startsWith(state.clientNonce) || !salt || !Number.isInteger(iterations)) {
    throw new Error('upstream SCRAM: invalid server-first message');
  }
  const salted = pbkdf2Sync(state.password.normalize('NFKC'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${state.clientFirstBare},${serverFirst},${withoutProof}`;
  const clientSignature = hmac(storedKey, authMessage);
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
  state.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
  return `${withoutProof},p=${proof.toString('base64')}`;
}

/** Checks the server-final message. */
export function scramFinish(state: ScramState, serverFinal: string): void {
  const v = /(?:^|,)v=([^,]+)/.exec(serverFinal)?.[1];
  const given = v ? Buffer.from(v, 'base64') : Buffer.alloc(0);
  if (!state.serverSignature || given.length !== state.serverSignature.length || !timingSafeEqual(given, state.serverSignature)) {
    throw new Error('upstream SCRAM: server signature mismatch');
  }
}

/**
 * A SCRAM-SHA-256 secret as PostgreSQL stores it (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`),
 * so `ALTER ROLE … PASSWORD '<secret>'` sets a password without the text ever reaching the server.
 *
 * @example
 * scramSecret(randomBytes(18).toString('base64url')); // 'SCRAM-SHA-256$4096:…$…:…'
 */
export function scramSecret(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
