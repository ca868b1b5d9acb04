import { FrameLengthError, FrameReader } from '../src/wire/frames.js';

/** A typed message with a body of `n` bytes of `fill`. */
function msg(type: string, n: number, fill = 0x61): Buffer {
  const b = Buffer.alloc(5 + n, fill);
  b[0] = type.charCodeAt(0);
  b.writeInt32BE(4 + n, 1);
  return b;
}

/** Feeds `stream` cut at the given sizes (cycled); returns the frames seen. */
function frameAll(reader: FrameReader, stream: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < stream.length; i++) {
    const n = sizes[i % sizes.length]!;
    reader.feed(stream.subarray(off, off + n), (_t, f) => out.push(Buffer.from(f)));
    off += n;
  }
  return out;
}

describe('FrameReader', () => {
  it('frames the same messages whatever the chunk boundaries (seeded cuts)', () => {
    const messages = [msg('Q', 0), msg('P', 3), msg('B', 70_000), msg('S', 0), msg('d', 1), msg('E', 200)];
    const stream = Buffer.concat(messages);
    let seed = 15;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed);
    for (let run = 0; run < 200; run++) {
      const sizes = Array.from({ length: 7 }, () => 1 + (rand() % (run % 2 ? 9 : 70_000)));
      const frames = frameAll(new FrameReader(), stream, sizes);
      // Compared as bytes (jest's deep equality walks a Buffer element by element).
      expect(frames.map((f) => f.length)).toEqual(messages.map((m) => m.length));
      expect(frames.every((f, i) => f.equals(messages[i]!))).toBe(true);
    }
  });

  it('joins a message split over many chunks once: 32 MB in 16 KiB chunks takes well under a second', () => {
    // Joining the buffered tail with every chunk (the old reader) made this quadratic: minutes.
    const big = msg('Q', 32 * 1024 * 1024);
    const started = performance.now();
    const frames = frameAll(new FrameReader(), big, [16 * 1024]);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.length).toBe(big.length);
  });

  it('refuses a length beyond its limit, or below 4, from the header alone', () => {
    const reader = new FrameReader(65_535);
    const head = Buffer.from([0x70, 0x04, 0x00, 0x00, 0x04]); // 'p', 64 MiB + 4
    expect(() => reader.feed(head, () => {})).toThrow(FrameLengthError);
    expect(() => new FrameReader().feed(Buffer.from([0x51, 0, 0, 0, 3]), () => {})).toThrow(/invalid message length 3/);
    const err = (() => {
      try {
        new FrameReader(10).feed(msg('Q', 20), () => {});
      } catch (e) {
        return e as FrameLengthError;
      }
    })();
    expect([err?.type, err?.length, err?.limit]).toEqual([0x51, 24, 10]);
  });

  it('takeRest() inside a callback stops the feed and hands back the bytes after the frame', () => {
    const reader = new FrameReader();
    const seen: string[] = [];
    let rest: Buffer | undefined;
    const stream = Buffer.concat([msg('R', 4), msg('Z', 1), msg('D', 2), msg('C', 3).subarray(0, 4)]);
    reader.feed(stream, (t) => {
      seen.push(String.fromCharCode(t));
      if (t === 0x5a) rest = reader.takeRest();
    });
    expect(seen).toEqual(['R', 'Z']);
    expect(rest).toEqual(Buffer.concat([msg('D', 2), msg('C', 3).subarray(0, 4)]));
  });
});
