/**
 * Length-prefixed message framing for both directions of the wire.
 *
 * Hand-written on purpose: `pg-protocol` parses backend messages only and builds an object for
 * every message; the proxy's hot path only needs the type byte and the frame boundaries, so it
 * can forward the original bytes untouched.
 *
 * Linear in the bytes received: a message split over many chunks is collected as a list of
 * chunks and joined once, when its last byte has arrived (joining the buffered tail with every
 * new chunk made a 10 MB message cost seconds, for every client of the process).
 */

/** Called with each complete message: its type byte and the whole frame (type + length + body). */
export type FrameHandler = (type: number, frame: Buffer) => void;

/**
 * Thrown by {@link FrameReader.feed} for a length below 4 or above the reader's limit; the
 * connection cannot be framed any further and must be closed.
 *
 * @example
 * try { reader.feed(chunk, onFrame); } catch (err) { if (err instanceof FrameLengthError) socket.destroy(); }
 */
export class FrameLengthError extends Error {
  override name = 'FrameLengthError';
  constructor(
    /** The type byte of the offending message. */
    readonly type: number,
    /** The length it announced (type byte excluded, as on the wire). */
    readonly length: number,
    /** The largest length accepted. */
    readonly limit: number,
  ) {
    super(length < 4 ? `invalid message length ${length}` : `message of ${length} bytes exceeds the limit of ${limit} bytes`);
  }
}

/**
 * Splits a byte stream of typed PostgreSQL messages (`type`, int32 length, body) into frames.
 *
 * @example
 * const reader = new FrameReader(65_536); // refuse longer messages (before authentication)
 * socket.on('data', (chunk) => reader.feed(chunk, (type, frame) => console.log(String.fromCharCode(type), frame.length)));
 */
export class FrameReader {
  /** Bytes of an incomplete message (one or more chunks, not joined yet). */
  private parts: Buffer[] = [];
  private size = 0;
  /** Total bytes the incomplete message needs (0 while its header is incomplete). */
  private need = 0;
  /** While `feed` runs: the buffer being framed and where the current frame ends. */
  private current: { buf: Buffer; end: number } | undefined;
  private stopped = false;

  /** `maxLength`: the largest message length accepted (type byte excluded, as on the wire). */
  constructor(private readonly maxLength = 0x7fffffff) {}

  /**
   * Feeds one chunk; calls `onFrame` for every complete message, keeps the incomplete tail.
   * Throws {@link FrameLengthError} as soon as a header announces an invalid length.
   */
  feed(chunk: Buffer, onFrame: FrameHandler): void {
    let buf = chunk;
    if (this.size > 0) {
      this.parts.push(chunk);
      this.size += chunk.length;
      // Still incomplete: keep the chunk, join nothing.
      if (this.need > 0 && this.size < this.need) return;
      buf = Buffer.concat(this.parts, this.size);
      this.parts = [];
      this.size = 0;
      this.need = 0;
    }
    let off = 0;
    const n = buf.length;
    while (n - off >= 5) {
      const len = buf.readInt32BE(off + 1);
      if (len < 4 || len > this.maxLength) throw new FrameLengthError(buf[off]!, len, this.maxLength);
      const end = off + 1 + len;
      if (end > n) {
        this.need = 1 + len;
        break;
      }
      this.current = { buf, end };
      try {
        onFrame(buf[off]!, buf.subarray(off, end));
      } finally {
        this.current = undefined;
      }
      if (this.stopped) return;
      off = end;
    }
    if (off < n) {
      // A copy: the tail must not keep the whole chunk alive (bounded by the chunk's size).
      this.parts = [Buffer.from(buf.subarray(off))];
      this.size = n - off;
    }
  }

  /**
   * Bytes received but not yet framed (used when switching protocol phases). Called from inside
   * `onFrame`, it also stops the `feed` in progress: the bytes after the current frame are
   * returned instead of being framed.
   */
  takeRest(): Buffer | undefined {
    const pending = this.size > 0 ? Buffer.concat(this.parts, this.size) : undefined;
    this.parts = [];
    this.size = 0;
    this.need = 0;
    const cur = this.current;
    if (!cur) return pending;
    this.stopped = true;
    const after = cur.buf.length > cur.end ? Buffer.from(cur.buf.subarray(cur.end)) : undefined;
    return after && pending ? Buffer.concat([after, pending]) : (after ?? pending);
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
