/** Refusing a connection as PostgreSQL does: a FATAL ErrorResponse, then the socket closes. */
import type { Duplex } from 'node:stream';
import type { SqlError } from '../sql/hook.js';
import { errorResponse } from './backend.js';

/** Ends `socket` with `err` as a FATAL ErrorResponse; destroys it a second later if the client lingers. */
export function fatal(socket: Duplex, err: SqlError): void {
  socket.end(errorResponse({ ...err, severity: 'FATAL' }));
  setTimeout(() => socket.destroy(), 1000).unref();
}
