/**
 * CancelRequests: relayed to the upstream backend they name, and remembered for a while.
 *
 * Which upstream backends a client asked to cancel, recently.
 *
 * Why: with the emulator's 1 ms `lock_timeout`, PostgreSQL sometimes reports a lock timeout that
 * fires as the lock is granted as `57014 canceling statement due to user request` instead of
 * `55P03` (the timeout's indicator is cleared before the interrupt is processed). Only a 57014
 * that follows a client's own CancelRequest is a cancel; any other is that lock timeout.
 */
import { connectTo, type UpstreamTarget } from '../upstream/connect.js';

const requested = new Map<number, number>();
const REMEMBER_MS = 30_000;

/** Notes a relayed CancelRequest for backend `pid`. */
export function noteCancelRequest(pid: number, now = Date.now()): void {
  requested.set(pid, now);
  if (requested.size > 1_000) for (const [p, at] of requested) if (now - at > REMEMBER_MS) requested.delete(p);
}

/** Whether a client asked to cancel backend `pid` in the last 30 s. */
export function cancelRequestedRecently(pid: number, now = Date.now()): boolean {
  const at = requested.get(pid);
  return at !== undefined && now - at <= REMEMBER_MS;
}

/**
 * Relays a CancelRequest (16 bytes: length, code, backend pid, secret) to the upstream server.
 * The key data a client holds is upstream's own (relayed in BackendKeyData): pass the request on.
 */
export function relayCancel(packet: Buffer, upstream: UpstreamTarget): void {
  const copy = Buffer.from(packet);
  noteCancelRequest(copy.readInt32BE(8));
  const up = connectTo(upstream, () => up.end(copy));
  up.on('error', () => up.destroy());
}
