/**
 * Admission of connections that have not authenticated yet: bounded in number (a new one evicts
 * the oldest, see `maxHandshakes`) and in time (`handshakeTimeoutMs`), so silent or flooding
 * sockets cannot hold slots that authenticated clients need.
 */
import type net from 'node:net';
import type { ConnectionContext } from '../context.js';

/** One connection before it is authenticated: what closes it, and its handshake deadline. */
export interface Handshake {
  close(): void;
  timer: NodeJS.Timeout;
}

/** Counts `raw` among the unauthenticated connections (evicting the oldest if full) and arms its deadline. */
export function startHandshake(raw: net.Socket, ctx: ConnectionContext): Handshake {
  if (ctx.handshakes.size >= ctx.maxHandshakes) {
    // Evict the oldest: a flood of silent sockets then only ever holds the newest few, each for
    // a short while, and a client that completes its handshake promptly gets through.
    const oldest = ctx.handshakes.values().next().value;
    if (oldest) {
      ctx.stats.handshakesEvicted++;
      oldest.close();
      ctx.handshakes.delete(oldest);
    }
  }
  const timer = setTimeout(() => {
    ctx.stats.handshakeTimeouts++;
    raw.destroy();
  }, ctx.handshakeTimeoutMs);
  timer.unref();
  const handshake: Handshake = { close: () => raw.destroy(), timer };
  ctx.handshakes.add(handshake);
  raw.once('close', () => finishHandshake(handshake, ctx));
  return handshake;
}

/** The connection authenticated (or closed): no longer a handshake, no deadline. */
export function finishHandshake(handshake: Handshake, ctx: ConnectionContext): void {
  clearTimeout(handshake.timer);
  ctx.handshakes.delete(handshake);
}
