/**
 * Admission: whether a connection may go on. An armed `connect` fault is applied before
 * authentication (as a refusal of the endpoint would be); the connection rate and the connection
 * cap are counted only once a client has authenticated — connections that never authenticate
 * must not use up what clients with a token need.
 */
import type net from 'node:net';
import type { ConnectionContext } from '../context.js';
import type { SqlError } from '../sql/hook.js';
import { fatal } from '../wire/fatal.js';
import { finishHandshake, type Handshake } from './handshakes.js';
import type { ClientSocket } from '../accept/accept.js';

/** DSQL's answer when the cluster's connection quota is used up. */
export const TOO_MANY_CONNECTIONS: SqlError = { code: '53300', message: 'Unable to accept connection, too many open connections.' };

/**
 * DSQL's answer while it cannot serve (FACTS: `XX000 server unavailable`, a transient error
 * clients retry), sent as FATAL: what a Region isolated in mode `'refuse'` answers.
 */
export const SERVER_UNAVAILABLE: SqlError = { code: 'XX000', message: 'server unavailable' };

/**
 * Refuses the connection while the endpoint is unavailable (`ctx.unavailable`): true when it
 * did. Checked first, and again once a client authenticated (isolation may start meanwhile).
 */
export function unavailableHit(socket: ClientSocket, ctx: ConnectionContext): boolean {
  if (!ctx.unavailable) return false;
  ctx.stats.unavailable++;
  fatal(socket, ctx.unavailable);
  return true;
}

/** Applies an armed `connect` fault: true when it ended the connection (dropped or refused). */
export function connectFaultHit(socket: ClientSocket, ctx: ConnectionContext): boolean {
  if (ctx.faults.empty) return false;
  const f = ctx.faults.take('connect');
  if (f?.kind === 'drop') {
    socket.destroy();
    return true;
  }
  if (f?.kind === 'error') {
    fatal(socket, f.error);
    return true;
  }
  return false;
}

/**
 * Admits an authenticated connection against the connection rate and `maxConnections`, or
 * refuses it (53400 / 53300). Admitted, it stops being a handshake and holds a connection slot
 * until it closes or `release()` is called (the session then takes the slot over).
 */
export function admitSession(socket: ClientSocket, raw: net.Socket, handshake: Handshake, ctx: ConnectionContext): { release(): void } | undefined {
  const { stats } = ctx;
  if (unavailableHit(socket, ctx)) return undefined;
  if (ctx.bucket && !ctx.bucket.tryTake()) {
    stats.rateLimited++;
    fatal(socket, { code: '53400', message: 'Unable to accept connection, rate exceeded.' });
    return undefined;
  }
  if (ctx.sessions.size >= ctx.maxConnections) {
    stats.tooManyConnections++;
    fatal(socket, TOO_MANY_CONNECTIONS);
    return undefined;
  }
  finishHandshake(handshake, ctx);
  const admission = { close: () => raw.destroy() };
  ctx.sessions.add(admission);
  raw.once('close', () => ctx.sessions.delete(admission));
  return { release: () => ctx.sessions.delete(admission) };
}
