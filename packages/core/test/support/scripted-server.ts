import net from 'node:net';

/** Backend message bytes: type, int32 length, body. */
export function backend(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'ascii');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
};
const cstr = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf8');

export const authRequest = (kind: number): Buffer => backend('R', int32(kind));
export const parameterStatus = (k: string, v: string): Buffer => backend('S', Buffer.concat([cstr(k), cstr(v)]));
export const backendKeyData = (pid: number, secret: number): Buffer => backend('K', Buffer.concat([int32(pid), int32(secret)]));
export const readyForQuery = (status = 'I'): Buffer => backend('Z', Buffer.from(status, 'ascii'));
export function errorResponse(fields: { severity: string; code: string; message: string; hint?: string }): Buffer {
  const parts = [cstr(`S${fields.severity}`), cstr(`V${fields.severity}`), cstr(`C${fields.code}`), cstr(`M${fields.message}`)];
  if (fields.hint) parts.push(cstr(`H${fields.hint}`));
  parts.push(Buffer.from([0]));
  return backend('E', Buffer.concat(parts));
}

/** A StartupMessage as a driver sends it. */
export function startupMessage(params: Record<string, string>): Buffer {
  const body = Buffer.concat([int32(196608), ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** Reads the password out of a PasswordMessage (`p`, int32 length, cstring). */
export function passwordOf(message: Buffer): string | undefined {
  if (message[0] !== 0x70) return undefined;
  const len = message.readUInt32BE(1);
  return message.toString('utf8', 5, len);
}

/**
 * A TCP server whose behaviour per connection is a script: it gets every chunk the client
 * sends and writes whatever it likes back. Just enough of a server to drive the startup
 * handshake through its branches (refusals, hand-over, early close).
 */
export async function scriptedServer(
  onConnection: (socket: net.Socket, index: number) => void,
): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket, count++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const int16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n, 0);
  return b;
};

/** RowDescription + DataRow + CommandComplete for one text column, as a simple Query answer. */
export function oneRowResult(column: string, value: string): Buffer {
  const field = Buffer.concat([cstr(column), int32(0), int16(0), int32(25 /* text */), int16(-1), int32(-1), int16(0)]);
  const cell = Buffer.from(value, 'utf8');
  return Buffer.concat([
    backend('T', Buffer.concat([int16(1), field])),
    backend('D', Buffer.concat([int16(1), int32(cell.length), cell])),
    backend('C', cstr('SELECT 1')),
  ]);
}

/**
 * Per-connection server side of a minimal PostgreSQL session: waits for the StartupMessage,
 * asks for a cleartext password, then either refuses (`refuse`) or greets and answers every
 * simple Query with one row naming the connection. Records each password it was sent.
 */
export function minimalPostgres(
  socket: net.Socket,
  options: { refuse?: Parameters<typeof errorResponse>[0]; passwords: string[]; index: number },
): void {
  let started = false;
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    if (!started) {
      if (pending.length < 4 || pending.length < pending.readInt32BE(0)) return;
      pending = pending.subarray(pending.readInt32BE(0));
      started = true;
      socket.write(authRequest(3));
    }
    while (pending.length >= 5 && pending.length >= 1 + pending.readUInt32BE(1)) {
      const size = 1 + pending.readUInt32BE(1);
      const message = pending.subarray(0, size);
      pending = pending.subarray(size);
      const type = String.fromCharCode(message[0]!);
      if (type === 'p') {
        options.passwords.push(passwordOf(message) ?? '');
        if (options.refuse) {
          socket.end(errorResponse(options.refuse));
          return;
        }
        socket.write(Buffer.concat([authRequest(0), parameterStatus('server_version', '16.9'), backendKeyData(options.index, 1), readyForQuery()]));
      } else if (type === 'Q') {
        socket.write(Buffer.concat([oneRowResult('conn', String(options.index)), readyForQuery()]));
      } else if (type === 'X') {
        socket.end();
      }
    }
  });
}
