/**
 * Length-prefixed message framing for both directions of the wire.
 *
 * Hand-written on purpose: `pg-protocol` parses backend messages only and builds an object for
 * every message; the proxy's hot path only needs the type byte and the frame boundaries, so it
 * can forward the original bytes untouched.
 */

/** Called with each complete message: its type byte and the whole frame (type + length + body). */
export type FrameHandler = (type: number, frame: Buffer) => void;

/** Splits a byte stream of typed PostgreSQL messages (`type`, int32 length, body) into frames. */
export class FrameReader {
  private rest: Buffer | undefined;

  /** Feeds one chunk; calls `onFrame` for every complete message, keeps the incomplete tail. */
  feed(chunk: Buffer, onFrame: FrameHandler): void {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    let off = 0;
    const n = buf.length;
    while (n - off >= 5) {
      const len = buf.readInt32BE(off + 1);
      const end = off + 1 + len;
      if (len < 4) throw new Error(`invalid message length ${len}`);
      if (end > n) break;
      onFrame(buf[off]!, buf.subarray(off, end));
      off = end;
    }
    if (off < n) this.rest = Buffer.from(buf.subarray(off));
  }

  /** Bytes received but not yet framed (used when switching protocol phases). */
  takeRest(): Buffer | undefined {
    const r = this.rest;
    this.rest = undefined;
    return r;
  }
}

/** Reads a NUL-terminated UTF-8 string at `at`; returns it and the offset after the NUL. */
export function readCString(buf: Buffer, at: number): [string, number] {
  const end = buf.indexOf(0, at);
  if (end < 0) throw new Error('unterminated string in message');
  return [buf.toString('utf8', at, end), end + 1];
}

/** Builds a typed message from a type character and body parts. */
export function message(type: string, ...parts: Buffer[]): Buffer {
  const bodyLen = parts.reduce((s, p) => s + p.length, 0);
  const out = Buffer.allocUnsafe(5 + bodyLen);
  out[0] = type.charCodeAt(0);
  out.writeInt32BE(4 + bodyLen, 1);
  let off = 5;
  for (const p of parts) {
    p.copy(out, off);
    off += p.length;
  }
  return out;
}

/** A NUL-terminated string as bytes. */
export function cstring(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

/** A big-endian int32 as bytes. */
export function int32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(v, 0);
  return b;
}

/** A big-endian int16 as bytes. */
export function int16(v: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(v, 0);
  return b;
}
