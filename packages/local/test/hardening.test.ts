/**
 * What a hostile or broken client can do to the emulator (issue 15): large messages, floods of
 * sockets that never authenticate, tampered tokens, more clients than the upstream takes, a
 * dead postmaster, secrets in JSON. Traffic goes to 127.0.0.1 only; every loop is bounded in
 * count and time. While an attack runs, a real client must still connect and answer SELECT 1.
 */
import { inspect } from 'node:util';
import type net from 'node:net';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import { serialize } from 'pg-protocol';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, failure, pgConfig, token } from './helpers.js';
import { authenticated, awaitingPassword, probe, tcp, tlsClient, worstLoopLag } from './raw-client.js';

// One embedded PostgreSQL for the file (sized for maxConnections: 40); tests start light
// proxies in front of it with the options they need.
let base: DsqlLocal;
const extra: DsqlLocal[] = [];
beforeAll(async () => {
  base = await startDsqlLocal({ maxConnections: 40 });
}, 60_000);
afterAll(async () => {
  await Promise.all(extra.map((d) => d.stop()));
  await base?.stop();
});

async function proxy(o: Parameters<typeof startDsqlLocal>[0] = {}): Promise<DsqlLocal> {
  const d = await startDsqlLocal({ upstream: base.upstreamUrl, credentials: base.credentials, ...o });
  extra.push(d);
  return d;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens up to `count` TCP sockets that never send a byte, within `withinMs`. */
async function silentSockets(d: DsqlLocal, count: number, withinMs: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  const deadline = Date.now() + withinMs;
  for (let i = 0; i < count && Date.now() < deadline; i += 50) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(50, count - i) }, () => tcp(d)));
    for (const r of batch) {
      if (r.status === 'fulfilled') {
        r.value.on('error', () => {});
        sockets.push(r.value);
      }
    }
  }
  return sockets;
}

describe('1. large messages', () => {
  it('frames a 10 MB query in linear time, while another client connects and answers SELECT 1', async () => {
    const d = await proxy();
    const a = await connectPg(d);
    try {
      const size = 10 * 1024 * 1024;
      const started = performance.now();
      const big = a.query(`SELECT length('${'x'.repeat(size)}') AS n`);
      await sleep(20);
      // Before the fix the proxy joined the buffered tail with every chunk: this query took
      // 10.8 s, and a new client needed ~10 s to get in. (test/frames.test.ts times the framing alone.)
      expect(await probe(d)).toBeLessThan(2000);
      expect((await big).rows).toEqual([{ n: size }]);
      expect(performance.now() - started).toBeLessThan(6000);
    } finally {
      await a.end();
    }
  });

  it('keeps the event loop turning while a large query is framed', async () => {
    const d = await proxy();
    const a = await connectPg(d);
    try {
      const text = 'y'.repeat(8 * 1024 * 1024);
      const { result, lagMs } = await worstLoopLag(() => a.query(`SELECT length('${text}') AS n`));
      expect(result.rows).toEqual([{ n: 8 * 1024 * 1024 }]);
      // What remains is the SQL rules parsing the 8 MB text once (linear, about 25 ms per MB).
      expect(lagMs).toBeLessThan(1000);
    } finally {
      await a.end();
    }
  });

  it('refuses a 64 MB password message from its header, before buffering it', async () => {
    const d = await proxy();
    const c = await awaitingPassword(d);
    const announced = 64 * 1024 * 1024;
    const head = Buffer.alloc(5);
    head[0] = 0x70; // 'p'
    head.writeInt32BE(announced + 4, 1);
    await c.write(head);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const until = Date.now() + 5000;
    // Keep sending (bounded: 64 chunks, 5 s) until the server hangs up; a client must connect meanwhile.
    const flood = (async () => {
      for (let i = 0; i < 64 && !c.closed && Date.now() < until; i++) await c.write(chunk);
    })();
    expect(await probe(d)).toBeLessThan(2000);
    await flood;
    expect(await c.error()).toEqual(expect.objectContaining({ S: 'FATAL', C: '08P01', M: 'invalid message length', H: expect.stringMatching(/at most 65535 bytes/) }));
    expect(await c.until(() => c.closed, 3000)).toBe(true);
    // The server stopped reading long before 64 MB (what the kernel buffers is all that went).
    expect(c.written).toBeLessThan(32 * 1024 * 1024);
    expect(d.stats().protocolViolations).toBe(1);
  });

  it("ends a session that announces a message beyond PostgreSQL's 1 GiB limit, from its header", async () => {
    const d = await proxy();
    const c = await authenticated(d);
    const head = Buffer.alloc(5);
    head[0] = 0x51; // 'Q'
    head.writeInt32BE(0x40000000, 1);
    await c.write(head);
    expect(await c.error()).toEqual(expect.objectContaining({ S: 'FATAL', C: '08P01', M: 'invalid message length' }));
    expect(await c.until(() => c.closed, 3000)).toBe(true);
    expect(await probe(d)).toBeLessThan(2000);
  });

  it('refuses an oversized or undersized startup packet', async () => {
    const d = await proxy();
    for (const len of [100 * 1024 * 1024, 10_001, 4, -1]) {
      const c = await tlsClient(d);
      const head = Buffer.alloc(8);
      head.writeInt32BE(len, 0);
      head.writeInt32BE(196608, 4);
      await c.write(head);
      expect(await c.error()).toEqual(expect.objectContaining({ C: '08P01', M: 'invalid length of startup packet' }));
      expect(await c.until(() => c.closed, 3000)).toBe(true);
    }
    expect(d.stats().protocolViolations).toBe(4);
    expect(await probe(d)).toBeLessThan(2000);
  });
});

describe('3. tampered tokens over the wire', () => {
  it('refuses a token with an unsigned extra parameter, with a hint, and counts it', async () => {
    const d = await proxy();
    const t = await token(d);
    const c = new pg.Client(pgConfig(d, `${t}&X-Amz-Extra=admin`));
    c.on('error', () => {});
    const err = await failure(() => c.connect());
    expect(err).toEqual(
      expect.objectContaining({ code: '08006', message: 'unable to accept connection, access denied', hint: expect.stringMatching(/"X-Amz-Extra", which SDK signers never add/) }),
    );
    expect(err.hint).not.toContain(t);
    expect(d.stats().authFailures).toEqual({ malformed: 1 });
  });

  it('says the host differs for a token signed for the upper-case host name', async () => {
    const d = await proxy();
    const err = await failure(() => connectWith(d, token(d, { hostname: d.host.toUpperCase() })));
    expect(err.hint).toMatch(/upper-case letters; the endpoint's host name is/);
    expect(err.hint).not.toMatch(/Secret Access Key/);
    expect(d.stats().authFailures).toEqual({ 'wrong-host': 1 });
  });
});

async function connectWith(d: DsqlLocal, password: Promise<string>): Promise<void> {
  const c = new pg.Client(pgConfig(d, await password));
  c.on('error', () => {});
  try {
    await c.connect();
  } finally {
    await c.end().catch(() => {});
  }
}

describe('4. connections that never authenticate', () => {
  it('are not counted towards maxConnections: 200 silent sockets, maxConnections 5, a client still gets in', async () => {
    const d = await proxy({ maxConnections: 5 });
    const sockets = await silentSockets(d, 200, 5000);
    try {
      expect(sockets.length).toBe(200);
      expect(await probe(d)).toBeLessThan(2000);
      // Authenticated connections are what counts: 5 get in, the 6th gets 53300.
      const clients = [];
      for (let i = 0; i < 5; i++) clients.push(await connectPg(d));
      try {
        expect(await failure(() => connectPg(d))).toEqual(expect.objectContaining({ code: '53300', message: 'Unable to accept connection, too many open connections.' }));
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('are bounded by maxHandshakes: a flood of sockets evicts the oldest, and clients keep connecting', async () => {
    // 400: a client's own handshake (tens of ms) is never the oldest of 400 at this flood rate.
    const d = await proxy({ maxHandshakes: 400 });
    const sockets: net.Socket[] = [];
    const latencies: number[] = [];
    let flooding = true;
    // At least 1,200 sockets and three clients through it, within 10 s and 4,000 sockets;
    // 20 in every 100 even finish TLS and send their startup before going silent.
    const until = Date.now() + 10_000;
    const flood = (async () => {
      while ((sockets.length < 1200 || latencies.length < 3) && sockets.length < 4000 && Date.now() < until) {
        sockets.push(...(await silentSockets(d, 80, 2000)));
        const tlsOnes = await Promise.allSettled(Array.from({ length: 20 }, () => awaitingPassword(d)));
        for (const r of tlsOnes) if (r.status === 'fulfilled') sockets.push(r.value.socket);
      }
      flooding = false;
    })();
    try {
      await sleep(50);
      while (flooding && latencies.length < 20) latencies.push(await probe(d));
      await flood;
      expect(latencies.length).toBeGreaterThanOrEqual(3);
      for (const ms of latencies) expect(ms).toBeLessThan(2000);
      expect(sockets.length).toBeGreaterThanOrEqual(1200);
      const stats = d.stats();
      // Every socket beyond the newest 400 was evicted (none timed out: the deadline is 10 s).
      expect(stats.handshakesEvicted).toBeGreaterThanOrEqual(sockets.length - 400);
      expect(stats.authenticated).toBe(latencies.length);
    } finally {
      flooding = false;
      await flood;
      for (const s of sockets) s.destroy();
    }
  }, 60_000);

  it('do not use up the connection rate: startups and bad passwords leave the bucket to clients with a token', async () => {
    // One token in the bucket, refilled once per 100 s.
    const d = await proxy({ connectRate: { perSecond: 0.01, burst: 1 } });
    const silent = await Promise.all(Array.from({ length: 20 }, () => awaitingPassword(d)));
    for (let i = 0; i < 10; i++) {
      const c = await awaitingPassword(d);
      await c.write(serialize.password('not-a-token'));
      expect(await c.error()).toEqual(expect.objectContaining({ C: '08006' }));
      c.close();
    }
    try {
      expect(await probe(d)).toBeLessThan(2000);
      expect(await failure(() => probe(d))).toEqual(expect.objectContaining({ code: '53400' }));
      expect(d.stats()).toEqual(expect.objectContaining({ rateLimited: 1, authenticated: 2 }));
    } finally {
      for (const c of silent) c.close();
    }
  });

  it('get a short handshake deadline', async () => {
    const d = await proxy({ handshakeTimeoutSeconds: 0.5 });
    const started = performance.now();
    const [silent] = await silentSockets(d, 1, 1000);
    const stalled = await awaitingPassword(d); // TLS and startup done, no password
    const closedAt = await new Promise<number>((resolve) => silent!.once('close', () => resolve(performance.now())));
    expect(closedAt - started).toBeGreaterThanOrEqual(400);
    expect(closedAt - started).toBeLessThan(3000);
    expect(await stalled.until(() => stalled.closed, 3000)).toBe(true);
    expect(d.stats().handshakeTimeouts).toBe(2);
    // An authenticated session is not subject to it.
    const c = await connectPg(d);
    await sleep(800);
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await c.end();
  });
});

describe('5. more clients than the upstream takes', () => {
  it('sizes the embedded PostgreSQL for maxConnections', async () => {
    const admin = new pg.Client({ connectionString: base.upstreamUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query('SHOW max_connections');
      expect(Number(rows[0].max_connections)).toBe(40 + 20);
    } finally {
      await admin.end();
    }
  });

  it("answers DSQL's 53300 when the upstream is full before maxConnections", async () => {
    // The upstream takes 60 backends; this proxy would allow 1,000 sessions.
    const d = await proxy({ maxConnections: 1000 });
    const clients: pg.Client[] = [];
    let refusal: Error & { code?: string } | undefined;
    try {
      const until = Date.now() + 20_000;
      for (let i = 0; i < 70 && !refusal && Date.now() < until; i++) {
        try {
          clients.push(await connectPg(d));
        } catch (err) {
          refusal = err as Error & { code?: string };
        }
      }
      expect(refusal).toEqual(expect.objectContaining({ code: '53300', message: 'Unable to accept connection, too many open connections.' }));
      expect(clients.length).toBeGreaterThan(30);
      expect(d.stats().tooManyConnections).toBe(1);
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
    }
  }, 60_000);
});

describe('6. stop() after the embedded postmaster died', () => {
  it.each([
    ['while it is being reaped', false],
    ['once it is gone', true],
  ])('finishes, removes the files and reports what happened (stop() called %s)', async (_when, waitForExit) => {
    const d = await startDsqlLocal();
    let stopped = false;
    try {
      const client = new pg.Client({ connectionString: d.upstreamUrl });
      await client.connect();
      const { rows } = await client.query('SELECT pg_backend_pid() AS pid, current_setting($1) AS dir', ['data_directory']);
      client.on('error', () => {});
      // The postmaster is the backend's parent (4th field of /proc/<pid>/stat).
      const stat = await readFile(`/proc/${rows[0].pid}/stat`, 'utf8');
      const postmaster = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      process.kill(postmaster, 'SIGKILL');
      await client.end().catch(() => {});
      for (let i = 0; waitForExit && i < 100 && (await readFile(`/proc/${postmaster}/stat`).then(() => true, () => false)); i++) await sleep(50);
      const started = performance.now();
      const err = await failure(() => d.stop());
      stopped = true;
      expect(err.message).toMatch(new RegExp(`embedded PostgreSQL \\(pid ${postmaster}\\) had died before stop\\(\\); its files were removed`));
      expect(performance.now() - started).toBeLessThan(5000);
      await expect(readFile(`${rows[0].dir}/PG_VERSION`)).rejects.toThrow(/ENOENT/);
      // Idempotent: the same report again.
      expect((await failure(() => d.stop())).message).toBe(err.message);
    } finally {
      if (!stopped) await d.stop().catch(() => {});
    }
  }, 30_000);
});

describe('7. secrets stay out of JSON', () => {
  it('JSON.stringify(dsqlLocal) and of its credentials show neither the secret, the session token nor the upstream password', async () => {
    const credentials = { accessKeyId: 'ASIALOCALJSON0000001', secretAccessKey: 'the-secret-access-key', sessionToken: 'the-session-token' };
    const d = await proxy({ credentials });
    const password = new URL(base.upstreamUrl).password;
    for (const text of [JSON.stringify(d), JSON.stringify({ d }), JSON.stringify(d.credentials), inspect(d, { showHidden: true, depth: 5 }), inspect(d.credentials), inspect(d.connectionOptions(), { depth: 5 })]) {
      expect(text).not.toContain('the-secret-access-key');
      expect(text).not.toContain('the-session-token');
      expect(text).not.toContain(password);
    }
    expect(JSON.parse(JSON.stringify(d))).toEqual({
      host: d.host,
      hostaddr: '127.0.0.1',
      port: d.port,
      region: d.region,
      clusterId: d.clusterId,
      accessKeyId: 'ASIALOCALJSON0000001',
      upstreamUrl: base.upstreamUrl.replace(`:${password}@`, ':[redacted]@'),
    });
    // The values are still there for the code that needs them, and the caller's object is untouched.
    expect(d.credentials.secretAccessKey).toBe('the-secret-access-key');
    expect({ ...d.connectionOptions().credentials }).toEqual(credentials);
    // connectionOptions() is what a jest globalSetup serializes for the test processes (README):
    // it survives a JSON round trip with the values an adapter needs.
    expect(JSON.parse(JSON.stringify(d.connectionOptions())).credentials).toEqual(credentials);
    expect(Object.getOwnPropertyNames(credentials)).toEqual(['accessKeyId', 'secretAccessKey', 'sessionToken']);
    // Session credentials still authenticate.
    const signed = await new DsqlSigner({ hostname: d.host, region: d.region, credentials: d.credentials }).getDbConnectAdminAuthToken();
    const c = new pg.Client(pgConfig(d, signed));
    await c.connect();
    await c.end();
  });
});
