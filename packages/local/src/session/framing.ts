/**
 * Framing: bytes from each side are cut into messages (../wire/frames.ts) and handed to
 * client-frames.ts / upstream-frames.ts; what they produce is written out in one buffer per
 * chunk. Also the statements the proxy runs upstream for itself, inside or between the client's.
 */
import { serialize } from 'pg-protocol';
import { errorResponse } from '../wire/backend.js';
import { cstring, FrameLengthError, message } from '../wire/frames.js';
import { onClientFrame } from './client-frames.js';
import { allAnswered, K, push, type Deferred, type Pending } from './requests.js';
import type { ProxySession } from './session.js';
import { onUpstreamFrame } from './upstream-frames.js';

/**
 * One buffer for a write. Frames relayed unchanged are adjacent slices of the chunk they came
 * in, so the common case is a single view of that chunk, without copying.
 */
export function joined(parts: Buffer[]): Buffer {
  if (parts.length === 1) return parts[0]!;
  const first = parts[0]!;
  let end = first.byteOffset + first.length;
  let total = first.length;
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.buffer !== first.buffer || p.byteOffset !== end) return Buffer.concat(parts);
    end += p.length;
    total += p.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, total);
}

/** Sends a hidden simple query upstream; `onDone` gets its final status and first error. */
export function internal(s: ProxySession, sql: string, onDone: NonNullable<Pending['onDone']>): void {
  push(s, { k: K.Internal, onDone });
  s.upstream.write(serialize.query(sql));
}

/** Bytes from the client: framed and handled, then what they produced is sent upstream. */
export function onClientData(s: ProxySession, chunk: Buffer): void {
  if (allAnswered(s)) s.requestStart = Date.now();
  try {
    s.fromClient.feed(chunk, (type, frame) => onClientFrame(s, type, frame));
  } catch (err) {
    // As PostgreSQL: a message whose length cannot be right ends the session.
    if (err instanceof FrameLengthError && !s.closed) {
      s.client.pause();
      s.client.end(errorResponse({ severity: 'FATAL', code: '08P01', message: 'invalid message length' }), () => s.close());
      setTimeout(() => s.close(), 1000).unref();
      return;
    }
    s.close();
    return;
  }
  flushUpstream(s);
}

/** Writes what is queued for upstream; pauses the client while upstream is not draining. */
export function flushUpstream(s: ProxySession): void {
  const out = s.toUpstream;
  if (out.length === 0 || s.closed || s.dropping) return;
  s.toUpstream = [];
  const ok = s.upstream.write(joined(out));
  if (!ok) s.client.pause();
}

/** Bytes from upstream: framed and handled, then what they produced is sent to the client. */
export function onUpstreamData(s: ProxySession, chunk: Buffer): void {
  try {
    s.fromUpstream.feed(chunk, (type, frame) => onUpstreamFrame(s, type, frame));
  } catch {
    s.close();
    return;
  }
  flushClient(s);
}

/** Writes what is queued for the client; pauses upstream while the client is not draining. */
export function flushClient(s: ProxySession): void {
  const out = s.toClient;
  if (out.length === 0 || s.closed) return;
  s.toClient = [];
  const ok = s.client.write(joined(out));
  if (!ok) s.upstream.pause();
}

/** Queues a message for the client (behind `stash` while it holds answers back). */
export function emit(s: ProxySession, buf: Buffer): void {
  (s.stash ?? s.toClient).push(buf);
}

/** Relays what `stash` held back (`keep` false: drops it), in order. */
export function unstash(s: ProxySession, keep: boolean): void {
  const held = s.stash;
  s.stash = undefined;
  if (keep && held) for (const f of held) s.toClient.push(f);
}

/**
 * Runs one statement of the proxy's own inside the client's extended batch, with a named
 * statement and portal (the client's unnamed ones are untouched); prepared once per session.
 */
export function hiddenStatement(s: ProxySession, name: string, text: string): void {
  if (!s.hiddenPrepared.has(name)) {
    s.hiddenPrepared.add(name);
    push(s, { k: K.Parse, hidden: true, name });
    s.toUpstream.push(serialize.parse({ name, text }));
  }
  push(s, { k: K.Bind, hidden: true });
  s.toUpstream.push(serialize.bind({ portal: name, statement: name }));
  push(s, { k: K.Execute, hidden: true });
  s.toUpstream.push(serialize.execute({ portal: name }));
  // Inside a block a named portal lives until the transaction ends: closed for the next Bind.
  push(s, { k: K.Close, hidden: true });
  s.toUpstream.push(serialize.close({ type: 'P', name }));
}

/**
 * One statement of the proxy's own as a whole extended batch, named `name`: Parse, Bind and
 * Execute, then Close of its portal and statement (the transaction goes on: they would outlive
 * the statement otherwise), then Sync.
 */
export function ownStatementBatch(name: string, d: Deferred): Buffer[] {
  return [
    message('P', cstring(name), cstring(d.sql), d.paramTypes),
    message('B', cstring(name), cstring(name), d.bindTail),
    serialize.execute({ portal: name }),
    serialize.close({ type: 'P', name }),
    serialize.close({ type: 'S', name }),
    serialize.sync(),
  ];
}
