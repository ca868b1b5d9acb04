/**
 * The startup packet, read inside TLS: its parameters (user, database, options, …), or a
 * CancelRequest some clients (Postgres.js) send over TLS too. Bounded by PostgreSQL's own limit.
 */
import type { ConnectionContext } from '../context.js';
import { fatal } from '../wire/fatal.js';
import { relayCancel } from './cancel-requests.js';
import type { ClientSocket } from './accept.js';

/** Startup-phase request codes (the int32 after the length). */
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** PostgreSQL's own limit on a startup packet (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_BYTES = 10_000;

/**
 * Reads the startup packet from `socket` and calls `onStartup` with its parameters and whatever
 * the client sent after it (the socket is paused); answers a CancelRequest, refuses anything else.
 */
export function readStartup(
  socket: ClientSocket,
  ctx: ConnectionContext,
  onStartup: (params: Record<string, string>, extra: Buffer) => void,
): void {
  const parts: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer): void => {
    parts.push(chunk);
    size += chunk.length;
    if (size < 8) return;
    const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    parts.length = 0;
    parts.push(buf);
    const len = buf.readInt32BE(0);
    if (len < 8 || len > MAX_STARTUP_BYTES) {
      ctx.stats.protocolViolations++;
      fatal(socket, { code: '08P01', message: 'invalid length of startup packet' });
      socket.removeListener('data', onData);
      return;
    }
    if (size < len) return;
    socket.removeListener('data', onData);
    socket.pause();
    const code = buf.readInt32BE(4);
    if (code === CANCEL_REQUEST && len === 16) {
      // Some clients (Postgres.js) negotiate TLS for cancel requests too.
      relayCancel(buf.subarray(0, 16), ctx.upstream);
      socket.destroy();
      return;
    }
    if (code !== PROTOCOL_3) {
      fatal(socket, { code: '08P01', message: `unsupported frontend protocol ${code >> 16}.${code & 0xffff}` });
      return;
    }
    const params: Record<string, string> = {};
    const fields = buf.toString('utf8', 8, len).split('\0');
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]) params[fields[i]!] = fields[i + 1]!;
    onStartup(params, buf.subarray(len));
  };
  socket.on('data', onData);
}
