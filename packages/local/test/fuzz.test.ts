/**
 * Seeded, bounded fuzzing of what a client sends before and after authentication: random and
 * mutated startup packets, password messages (mutated valid tokens) and protocol messages.
 * The emulator must never crash, never accept a mutated token, and keep answering a real
 * client. Deterministic for a seed (`FUZZ_SEED=<n>` to replay one); every phase is bounded by
 * a case count and a time budget. Traffic goes to 127.0.0.1 only.
 */
import { serialize } from 'pg-protocol';
import { startDsqlLocal, verifyDsqlToken, type DsqlLocal } from '../src/index.js';
import { token } from './helpers.js';
import { authenticated, frame, probe, tcp, tlsClient, type RawClient } from './raw-client.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x15_2026);

/** mulberry32: a small, well-known seeded PRNG (reproducible cases without a dependency). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** A copy of `b` with a few bytes flipped, inserted, deleted, or the buffer cut short. */
  mutateBytes(b: Buffer): Buffer {
    let out = Buffer.from(b);
    const edits = 1 + this.int(3);
    for (let e = 0; e < edits; e++) {
      const at = this.int(Math.max(out.length, 1));
      switch (this.int(4)) {
        case 0:
          if (out.length) out[at] = this.int(256);
          break;
        case 1:
          out = Buffer.concat([out.subarray(0, at), this.bytes(1 + this.int(4)), out.subarray(at)]);
          break;
        case 2:
          out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + this.int(4))]);
          break;
        default:
          out = out.subarray(0, at);
      }
    }
    return out;
  }
}

const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%&=/?:@#+ ';

/** A token that differs from `t` (never a mere reordering of its parameters). */
function mutateToken(g: Gen, t: string): string {
  const [authority, query] = t.split('/?') as [string, string];
  const params = query.split('&');
  switch (g.int(9)) {
    case 0: {
      const i = g.int(t.length);
      return t.slice(0, i) + g.pick([...TOKEN_CHARS]) + t.slice(i + 1);
    }
    case 1: {
      const i = g.int(t.length);
      return t.slice(0, i) + t.slice(i + 1 + g.int(3));
    }
    case 2: {
      const i = g.int(t.length + 1);
      return t.slice(0, i) + g.pick([...TOKEN_CHARS]) + t.slice(i);
    }
    case 3:
      return `${authority}/?${[...params, g.pick(params)].join('&')}`;
    case 4:
      return `${t}&${g.pick(['X-Amz-Extra=1', 'Action=DbConnect', 'X-Amz-Expires=604800', 'a=b', '', 'X-Amz-Security-Token=x'])}`;
    case 5: {
      const letters = [...t].map((c, i) => (/[a-zA-Z]/.test(c) ? i : -1)).filter((i) => i >= 0);
      const i = g.pick(letters);
      const c = t[i]!;
      return t.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + t.slice(i + 1);
    }
    case 6:
      return t.slice(0, g.int(t.length));
    case 7: {
      const i = g.int(params.length);
      const [name] = params[i]!.split('=');
      const copy = [...params];
      copy[i] = `${name}=${g.pick(['0900', '9e2', '1', '604801', '20260101T000000Z', 'AWS4-HMAC-SHA1', 'host%3Bx-amz-date', 'DbConnect', ''])}`;
      return `${authority}/?${copy.join('&')}`;
    }
    default:
      return g.pick([`user@${t}`, `${authority}:5432/?${query}`, `https://${t}`, `${t}#x`, `${authority}/./?${query}`, `${t}${'&X-Amz-Pad=a'.repeat(2000)}`]);
  }
}

/** A startup packet: valid, mutated or random. */
function startupPacket(g: Gen, user: string): Buffer {
  const valid = serialize.startup({ user, database: 'postgres', options: g.pick(['', '-c amzn-cluster-id=x', '-c search_path=a']) });
  switch (g.int(4)) {
    case 0:
      return g.mutateBytes(valid);
    case 1: {
      const b = g.bytes(8 + g.int(64));
      b.writeInt32BE(g.pick([b.length, 8, 4, 0, -1, 10_001, 0x7fffffff, 16]), 0);
      if (g.int(2)) b.writeInt32BE(g.pick([196608, 80877102, 80877103, 80877104, 131072, 0]), 4);
      return b;
    }
    case 2: {
      // Well framed, odd contents: unterminated strings, odd keys, empty user.
      const body = Buffer.concat([g.bytes(g.int(40)), g.int(2) ? Buffer.from([0]) : Buffer.alloc(0)]);
      const b = Buffer.alloc(8);
      b.writeInt32BE(8 + body.length, 0);
      b.writeInt32BE(196608, 4);
      return Buffer.concat([b, body]);
    }
    default:
      return g.bytes(1 + g.int(32));
  }
}

/** A frontend message after authentication: valid, mutated or random. */
function sessionMessage(g: Gen): Buffer {
  const valid = [
    serialize.query('SELECT 1'),
    serialize.query("SELECT 'a'; SELECT 2"),
    serialize.query('BEGIN'),
    serialize.query('COMMIT'),
    serialize.parse({ name: g.pick(['', 's1']), text: 'SELECT $1::int', types: [23] }),
    serialize.bind({ portal: '', statement: g.pick(['', 's1']), values: ['1'] }),
    serialize.describe({ type: 'P', name: '' }),
    serialize.execute({ portal: '', rows: 0 }),
    serialize.close({ type: 'S', name: 's1' }),
    serialize.sync(),
    serialize.flush(),
  ];
  switch (g.int(4)) {
    case 0:
    case 1:
      return g.mutateBytes(g.pick(valid));
    case 2:
      return frame(g.pick([...'QPBEDCSHFdcfpXZ?\0']), g.bytes(g.int(48)));
    default:
      return g.pick(valid);
  }
}

let dsql: DsqlLocal;
let failures: string[] = [];
beforeAll(async () => {
  dsql = await startDsqlLocal({ connectRate: false, handshakeTimeoutSeconds: 2, maxConnections: 50 });
}, 60_000);
afterAll(async () => {
  await dsql?.stop();
});

/**
 * Runs `body(i)` for up to `count` cases within `budgetMs`, `parallel` at a time (cases are
 * generated in order, so a seed replays the same ones); returns how many ran.
 */
async function cases(count: number, budgetMs: number, body: (i: number) => Promise<void>, parallel = 1): Promise<number> {
  const until = Date.now() + budgetMs;
  let i = 0;
  while (i < count && Date.now() < until) {
    const batch: Promise<void>[] = [];
    for (let k = 0; k < parallel && i < count; k++, i++) batch.push(body(i));
    await Promise.all(batch);
  }
  return i;
}

/** Waits until the server has answered or closed (bounded), then closes the client. */
async function settle(c: RawClient, ms: number): Promise<void> {
  await c.until(() => c.closed || c.messages.some((m) => m.type === 'E' || m.type === 'Z'), ms);
  c.close();
}

describe(`fuzzing the emulator (seed ${SEED})`, () => {
  beforeEach(() => {
    failures = [];
  });

  it('never accepts a mutated token (3,000 mutations, verifier)', async () => {
    const g = new Gen(prng(SEED));
    const valid = await token(dsql);
    const expectation = { host: dsql.host, region: dsql.region, user: 'admin', credentials: [dsql.credentials] };
    expect(await verifyDsqlToken(valid, expectation)).toEqual({ ok: true });
    const signature = /X-Amz-Signature=([0-9a-f]{64})/.exec(valid)![1]!;
    const ran = await cases(3000, 8000, async (i) => {
      const t = mutateToken(g, valid);
      if (t === valid) return;
      const v = await verifyDsqlToken(t, expectation);
      if (v.ok) failures.push(`case ${i}: accepted ${JSON.stringify(t)}`);
      else if (v.hint.includes(signature) || (t.length >= 24 && v.hint.includes(t))) failures.push(`case ${i}: hint echoes the token`);
    });
    expect(failures).toEqual([]);
    expect(ran).toBeGreaterThan(1000);
  }, 30_000);

  it('never sends AuthenticationOk for a mutated password (over the wire)', async () => {
    const g = new Gen(prng(SEED + 1));
    const valid = await token(dsql);
    const before = dsql.stats().authenticated;
    const mutations = Array.from({ length: 300 }, () => mutateToken(g, valid));
    const ran = await cases(300, 5000, async (i) => {
      const t = mutations[i]!;
      if (t === valid) return;
      const c = await tlsClient(dsql);
      await c.write(Buffer.concat([serialize.startup({ user: 'admin', database: 'postgres' }), serialize.password(t)]));
      await settle(c, 2000);
      if (c.messages.some((m) => m.type === 'R' && m.body.readInt32BE(0) === 0)) failures.push(`case ${i}: AuthenticationOk for ${JSON.stringify(t)}`);
    }, 4);
    expect(failures).toEqual([]);
    expect(dsql.stats().authenticated).toBe(before);
    expect(ran).toBeGreaterThan(50);
    expect(await probe(dsql)).toBeLessThan(2000);
  }, 30_000);

  it('survives random bytes before TLS and random startup packets after it', async () => {
    const g = new Gen(prng(SEED + 2));
    const plainInputs = Array.from({ length: 500 }, () => (g.int(3) ? g.bytes(1 + g.int(24)) : g.mutateBytes(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]))));
    const plain = await cases(500, 2500, async (i) => {
      const s = await tcp(dsql);
      s.on('error', () => {});
      s.write(plainInputs[i]!);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 30);
        s.once('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
      s.destroy();
    }, 10);
    const packets = Array.from({ length: 200 }, () => startupPacket(g, g.pick(['admin', 'app', ''])));
    const startups = await cases(200, 4000, async (i) => {
      const c = await tlsClient(dsql);
      await c.write(packets[i]!);
      await settle(c, 100);
    }, 10);
    expect(plain).toBeGreaterThan(100);
    expect(startups).toBeGreaterThan(50);
    expect(await probe(dsql)).toBeLessThan(2000);
  }, 30_000);

  it('survives random and mutated protocol messages after authentication, and still answers a real client', async () => {
    const g = new Gen(prng(SEED + 3));
    let c = await authenticated(dsql);
    let sessions = 1;
    const ran = await cases(1500, 5000, async (i) => {
      if (c.closed) {
        c = await authenticated(dsql);
        sessions++;
      }
      await c.write(sessionMessage(g));
      // Every 25 messages, let the answers come (or the session end) before going on.
      if (i % 25 === 24) {
        await c.write(Buffer.concat([serialize.sync(), serialize.query('SELECT 1')]));
        await c.until(() => c.closed, 30);
        if (!c.closed && g.int(4) === 0) {
          c.close();
        }
      }
    });
    c.close();
    expect(ran).toBeGreaterThan(300);
    expect(sessions).toBeGreaterThan(1);
    expect(await probe(dsql)).toBeLessThan(2000);
    // Every session the fuzzer opened is gone again (none leaked a slot).
    const until = Date.now() + 5000;
    while (dsql.stats().openConnections > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(dsql.stats().openConnections).toBe(0);
  }, 30_000);
});
