/**
 * Reading the PasswordMessage that carries the IAM token, with a size cap: an unauthenticated
 * client must not make the proxy buffer megabytes.
 */
import { FrameLengthError, FrameReader } from '../wire/frames.js';
import type { ClientSocket } from '../accept/accept.js';

/**
 * Largest PasswordMessage accepted (PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH). A token is far
 * shorter (see `MAX_TOKEN_LENGTH`); the cap keeps an unauthenticated client from making the
 * proxy buffer megabytes.
 */
export const MAX_PASSWORD_MESSAGE_BYTES = 65_535;

/**
 * Waits for the PasswordMessage: its text; undefined if the client went away or sent something
 * else; a FrameLengthError if it announced a message longer than MAX_PASSWORD_MESSAGE_BYTES
 * (refused from its header, before the bytes are buffered).
 */
export function readPassword(socket: ClientSocket, extra: Buffer): Promise<string | FrameLengthError | undefined> {
  return new Promise((resolve) => {
    const reader = new FrameReader(MAX_PASSWORD_MESSAGE_BYTES);
    let done = false;
    const finish = (v: string | FrameLengthError | undefined): void => {
      if (done) return;
      done = true;
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.pause();
      resolve(v);
    };
    const onData = (chunk: Buffer): void => {
      try {
        reader.feed(chunk, (type, frame) => {
          if (type !== 0x70 /* p */) return finish(undefined);
          const nul = frame.indexOf(0, 5);
          finish(frame.toString('utf8', 5, nul < 0 ? frame.length : nul));
          // Anything the client sent after it is its session's: handed back to the socket.
          const rest = reader.takeRest();
          if (rest) socket.unshift(rest);
        });
      } catch (err) {
        finish(err instanceof FrameLengthError ? err : undefined);
      }
    };
    const onClose = (): void => finish(undefined);
    socket.on('data', onData);
    socket.on('close', onClose);
    if (extra.length) onData(extra);
    socket.resume();
  });
}
