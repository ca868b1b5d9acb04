import type { Duplex } from 'node:stream';
import { loadPgProtocol } from './pg-protocol.js';
import { FrameReader } from './wire.js';

/** What the server said during a successful startup, for Postgres.js to read as if it had asked. */
export interface Greeting {
  /**
   * Server messages to replay, byte for byte: AuthenticationOk, ParameterStatus,
   * BackendKeyData, notices and the final ReadyForQuery. The password request that was
   * answered here is left out.
   */
  replay: Buffer;
  /**
   * True when the server asked for an authentication method other than a cleartext password
   * (a plain PostgreSQL with SCRAM, say): `replay` then ends with that request and the
   * driver finishes the exchange itself.
   */
  handedOver: boolean;
  /**
   * The session's BackendKeyData as `"<pid>:<secret>"` (read as Postgres.js reads it), when the
   * server sent one: it names the session a Postgres.js connection is on.
   */
  backendKey?: string | undefined;
}

/**
 * Runs the startup exchange on an open (TLS) socket: sends the driver's own StartupMessage,
 * answers the cleartext password request with `password()` (an IAM token, fetched only when
 * asked for), and waits for ReadyForQuery. Rejects with the server's ErrorResponse (a
 * pg-protocol `DatabaseError` with `code`, `severity`, `hint`) or the socket's error, so the
 * caller can tell a refusal worth retrying (rate exceeded, too many connections, cluster
 * waking up) from one that is not (access denied).
 *
 * The socket is left paused with no listeners of ours, ready to be handed on.
 *
 * @example
 * const greeting = await startupHandshake(tlsSocket, startupBytes, () => tokens.getToken(), signal);
 */
export async function startupHandshake(
  socket: Duplex,
  startup: Buffer,
  password: () => string | Promise<string>,
  signal?: AbortSignal,
): Promise<Greeting> {
  const { serialize, Parser } = await loadPgProtocol();
  return new Promise((resolve, reject) => {
    const reader = new FrameReader(Parser);
    const replay: Buffer[] = [];
    let backendKey: string | undefined;
    let settled = false;
    const finish = (err: unknown, greeting?: Greeting): void => {
      if (settled) return;
      settled = true;
      socket.removeListener('data', onData);
      socket.removeListener('error', finish);
      socket.removeListener('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      socket.pause();
      if (err !== undefined) reject(err);
      else resolve(greeting!);
    };
    const onAbort = (): void => finish(signal?.reason ?? new Error('aborted'));
    const onClose = (): void =>
      finish(Object.assign(new Error('Connection closed during the startup handshake'), { code: 'ECONNRESET' }));
    const onData = (chunk: Buffer): void => {
      for (const { raw, message } of reader.push(chunk)) {
        switch (message.name) {
          case 'authenticationCleartextPassword':
            Promise.resolve()
              .then(password)
              .then(
                (token) => settled || socket.write(serialize.password(token)),
                (err: unknown) => finish(err),
              );
            break;
          case 'error':
            finish(message);
            return;
          case 'authenticationMD5Password':
          case 'authenticationSASL':
            replay.push(raw, reader.rest());
            finish(undefined, { replay: Buffer.concat(replay), handedOver: true, backendKey });
            return;
          case 'readyForQuery':
            replay.push(raw, reader.rest());
            finish(undefined, { replay: Buffer.concat(replay), handedOver: false, backendKey });
            return;
          case 'backendKeyData':
            backendKey = `${raw.readUInt32BE(5)}:${raw.readUInt32BE(9)}`;
            replay.push(raw);
            break;
          default:
            replay.push(raw);
        }
      }
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.once('error', finish);
    socket.once('close', onClose);
    socket.write(startup);
    socket.resume();
  });
}
