import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { startDsqlLocal, type DsqlLocal, type DsqlLocalOptions } from '@dsql/local';
import { tcpRelay } from './support/tcp-relay.js';
import { bundleChildApp, startChildApp, type ChildApp, type ChildAppBundle } from './support/child-app.js';

// The server closes a connection the application is not using: at its connection-age limit
// (DSQL's 60 minutes come with jitter, so not always after the client's own lifetime), because an
// operator or a component replacement ended the session, or because the endpoint went away. An
// application that attached no listener at all must live on (an uncaught exception would end it:
// what plain pg.Pool does) and its next query must work. Each case runs the application in a child
// process, with nothing but dsql() and queries, and asserts how that process ends.

const credentials = { accessKeyId: 'AKIDCHILDAPPTEST0001', secretAccessKey: randomBytes(20).toString('hex') };
let upstream: DsqlLocal;
let bundle: ChildAppBundle;
const children: ChildApp[] = [];
const locals: DsqlLocal[] = [];

beforeAll(async () => {
  bundle = bundleChildApp();
  upstream = await startDsqlLocal({ credentials });
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill();
  for (const local of locals) await local.stop();
  await upstream?.stop();
  bundle?.dispose();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Another endpoint on the same PostgreSQL (stopping it leaves the database running). */
async function endpoint(options: DsqlLocalOptions = {}): Promise<DsqlLocal> {
  const local = await startDsqlLocal({ upstream: upstream.upstreamUrl, credentials, ...options });
  locals.push(local);
  return local;
}

/** The application's dsql() options: the server decides when connections close, not the client. */
function appOptions(local: DsqlLocal, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...local.connectionOptions(), credentials, maxLifetimeSeconds: 3600, idle_timeout: 0, max: 2, ...extra };
}

function app(options: Record<string, unknown>): ChildApp {
  const child = startChildApp(bundle, options);
  children.push(child);
  return child;
}

async function pidOf(child: ChildApp): Promise<number> {
  const answer = await child.query();
  if (!answer.ok) throw new Error(`query failed in the child: ${answer.code} ${answer.message}`);
  return answer.pid;
}

/** The child ends its sql and exits by itself, with code 0 and nothing on stderr. */
async function expectCleanExit(child: ChildApp): Promise<void> {
  const { code, signal, stderr } = await child.end();
  expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
}

describe('an idle connection closed by the server, with no listener attached', () => {
  it("at the server's connection age (2 s; the client's lifetime is 3600 s): no crash, the next query runs on a new session", async () => {
    const aged = await endpoint({ maxConnectionAgeSeconds: 2 });
    const child = app(appOptions(aged));
    const first = await pidOf(child);
    await sleep(3500); // the server closes the idle session after 2 s (+ at most 1 % jitter)
    expect(child.alive()).toBe(true);
    const second = await pidOf(child);
    expect(second).not.toBe(first);
    await expectCleanExit(child);
  }, 30_000);

  it('ended by pg_terminate_backend: no crash, the next query runs on a new session', async () => {
    const child = app(appOptions(upstream));
    const first = await pidOf(child);
    const admin = postgres(upstream.upstreamUrl, { max: 1, onnotice: () => undefined });
    try {
      const [row] = await admin`select pg_terminate_backend(${first}::int) as ok`;
      expect(row!.ok).toBe(true);
    } finally {
      await admin.end();
    }
    await sleep(300);
    expect(child.alive()).toBe(true);
    const second = await pidOf(child);
    expect(second).not.toBe(first);
    await expectCleanExit(child);
  }, 30_000);

  it('the endpoint stops: no crash, and a query while it is down fails with a clear error', async () => {
    const stopping = await endpoint();
    // connect_timeout 3: a connection to the stopped endpoint is retried for about 2.5 s, then fails.
    const child = app(appOptions(stopping, { connect_timeout: 3 }));
    await pidOf(child);
    await stopping.stop(); // closes every session, then stops listening
    await sleep(300);
    expect(child.alive()).toBe(true);
    const down = await child.query();
    expect(down).toMatchObject({ ok: false, code: 'ECONNREFUSED' });
    expect(down.ok === false && down.message).toMatch(/ECONNREFUSED 127\.0\.0\.1:\d+/);
    await expectCleanExit(child);
  }, 30_000);

  it('the endpoint goes away and comes back on the same address: no crash, the next query works', async () => {
    // A relay in front of the endpoint plays the address that disappears (TLS and the token stay end
    // to end with the endpoint, whose certificate the client trusts).
    const relay = await tcpRelay(upstream.port);
    const child = app(appOptions(upstream, { port: relay.port, connect_timeout: 3 }));
    try {
      const before = await pidOf(child);
      await relay.stop();
      await sleep(300);
      expect(child.alive()).toBe(true);
      expect(await child.query()).toMatchObject({ ok: false, code: 'ECONNREFUSED' });
      await relay.start();
      const after = await pidOf(child);
      expect(after).not.toBe(before);
      await expectCleanExit(child);
    } finally {
      await relay.stop();
    }
  }, 30_000);
});

declare const POSTGRES_JS_VERSION: string;

describe("Postgres.js 4's unref_sockets", () => {
  it('4: idle dsql() connections do not keep the process alive; 3.4 has no such option (they do)', async () => {
    const child = app(appOptions(upstream, { unref_sockets: true, idle_timeout: 600 }));
    await pidOf(child);
    await child.detach(); // nothing but the sql's idle connection is left
    const ended = await child.exitWithin(3000);
    if (POSTGRES_JS_VERSION.startsWith('3.')) {
      expect(ended).toBe('running');
    } else {
      expect(ended).toEqual({ code: 0, signal: null, stderr: '' });
    }
  }, 20_000);
});
