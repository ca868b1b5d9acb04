import net from 'node:net';
import { startupHandshake } from '../src/socket/handshake.js';
import {
  authRequest,
  backendKeyData,
  errorResponse,
  parameterStatus,
  passwordOf,
  readyForQuery,
  scriptedServer,
  startupMessage,
} from './support/scripted-server.js';

const startup = startupMessage({ user: 'admin', database: 'postgres' });

function dial(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

describe('startupHandshake', () => {
  it('answers the cleartext request with the token and replays the rest of the greeting', async () => {
    let received = '';
    const greetingAfterAuth = Buffer.concat([authRequest(0), parameterStatus('server_version', '16.9'), backendKeyData(7, 9), readyForQuery()]);
    const server = await scriptedServer((socket) => {
      let step = 0;
      socket.on('data', (chunk) => {
        if (step++ === 0) {
          expect(chunk.equals(startup)).toBe(true);
          socket.write(authRequest(3));
        } else {
          received = passwordOf(chunk) ?? '';
          socket.write(greetingAfterAuth);
        }
      });
    });
    const socket = await dial(server.port);
    try {
      const tokenCalls: number[] = [];
      const greeting = await startupHandshake(socket, startup, () => {
        tokenCalls.push(1);
        return 'host/?Action=DbConnectAdmin&X-Amz-Signature=abc';
      });
      expect(received).toBe('host/?Action=DbConnectAdmin&X-Amz-Signature=abc');
      expect(tokenCalls).toHaveLength(1);
      expect(greeting.handedOver).toBe(false);
      // The password request is not replayed: the driver must not answer it a second time.
      expect(greeting.replay.equals(greetingAfterAuth)).toBe(true);
      expect(greeting.backendKey).toBe('7:9'); // names the session for the reserve guard
      expect(socket.listenerCount('data')).toBe(0);
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it('rejects with the server refusal, code and hint intact', async () => {
    const server = await scriptedServer((socket) => {
      socket.once('data', () => socket.write(authRequest(3)));
      socket.on('data', (chunk) => {
        if (passwordOf(chunk) !== undefined) {
          socket.end(errorResponse({ severity: 'FATAL', code: '53400', message: 'Unable to accept connection, rate exceeded.' }));
        }
      });
    });
    const socket = await dial(server.port);
    try {
      await expect(startupHandshake(socket, startup, () => 'token')).rejects.toMatchObject({
        code: '53400',
        severity: 'FATAL',
        message: 'Unable to accept connection, rate exceeded.',
      });
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it('hands SCRAM over to the driver with the request as the last replayed message', async () => {
    const sasl = Buffer.concat([authRequest(10), Buffer.from('SCRAM-SHA-256\0\0')]);
    sasl.writeUInt32BE(sasl.length - 1, 1);
    const server = await scriptedServer((socket) => socket.once('data', () => socket.write(sasl)));
    const socket = await dial(server.port);
    try {
      const greeting = await startupHandshake(socket, startup, () => {
        throw new Error('must not be asked for a token');
      });
      expect(greeting.handedOver).toBe(true);
      expect(greeting.replay.equals(sasl)).toBe(true);
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it('rejects with a connection error when the server hangs up mid-handshake', async () => {
    const server = await scriptedServer((socket) => socket.once('data', () => socket.end()));
    const socket = await dial(server.port);
    try {
      await expect(startupHandshake(socket, startup, () => 'token')).rejects.toMatchObject({ code: 'ECONNRESET' });
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it('stops waiting when aborted', async () => {
    const server = await scriptedServer(() => undefined);
    const socket = await dial(server.port);
    try {
      const ac = new AbortController();
      const pending = startupHandshake(socket, startup, () => 'token', ac.signal);
      ac.abort(new Error('gave up'));
      await expect(pending).rejects.toThrow('gave up');
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it('never sends the token when the token source fails', async () => {
    const seen: Buffer[] = [];
    const server = await scriptedServer((socket) => {
      socket.on('data', (c) => seen.push(c));
      socket.once('data', () => socket.write(authRequest(3)));
    });
    const socket = await dial(server.port);
    try {
      await expect(
        startupHandshake(socket, startup, () => Promise.reject(new Error('no credentials'))),
      ).rejects.toThrow('no credentials');
      expect(seen.some((c) => passwordOf(c) !== undefined)).toBe(false);
    } finally {
      socket.destroy();
      await server.close();
    }
  });
});
