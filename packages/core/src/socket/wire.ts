import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import type { PgProtocol } from './pg-protocol.js';

/** Protocol 3.0 StartupMessage version field. */
export const PROTOCOL_3 = 196608;
/** CancelRequest "version" field. */
export const CANCEL_REQUEST_CODE = 80877102;
/** SSLRequest "version" field. */
export const SSL_REQUEST_CODE = 80877103;
/** The Terminate message ('X', length 4): ends a session politely. */
export const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

/** The code field of the first frontend message (StartupMessage, CancelRequest, SSLRequest…). */
export function initialMessageCode(chunk: Buffer): number | undefined {
  return chunk.length >= 8 ? chunk.readInt32BE(4) : undefined;
}

/** A complete backend message: its raw bytes (to hand on unchanged) and its decoded form. */
export interface BackendFrame {
  raw: Buffer;
  message: BackendMessage;
}

/**
 * Cuts a backend byte stream into whole messages, keeping each message's raw bytes.
 *
 * Decoding is pg-protocol's `Parser`; only the 5-byte framing (type + length) is done here,
 * because the handshake must pass most messages on byte for byte and drop others (the
 * password request it answered itself), which the library's callback API cannot tell us.
 */
export class FrameReader {
  #pending: Buffer = Buffer.alloc(0);
  readonly #parser: InstanceType<PgProtocol['Parser']>;

  /** `Parser`: pg-protocol's, as {@link loadPgProtocol} loads it. */
  constructor(Parser: PgProtocol['Parser']) {
    this.#parser = new Parser();
  }

  /** Adds bytes; returns every message now complete, in order. */
  push(chunk: Buffer): BackendFrame[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: BackendFrame[] = [];
    while (this.#pending.length >= 5) {
      const size = 1 + this.#pending.readUInt32BE(1);
      if (this.#pending.length < size) break;
      const raw = this.#pending.subarray(0, size);
      this.#pending = this.#pending.subarray(size);
      let message: BackendMessage | undefined;
      this.#parser.parse(raw, (m) => (message = m));
      if (message) frames.push({ raw, message });
    }
    return frames;
  }

  /** Bytes received after the last complete message. */
  rest(): Buffer {
    return this.#pending;
  }
}
