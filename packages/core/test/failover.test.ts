import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import { jest } from '@jest/globals';
import {
  ConnectRateLimiter,
  DSQL_FAILOVER_CHANNELS,
  DsqlConfigError,
  createDsqlSession,
  isEndpointFailure,
  type DsqlEndpointSession,
  type DsqlFailoverMessage,
} from '../src/index.js';
import { EndpointRouter, type RoutedEndpoint } from '../src/failover/endpoint-router.js';
import { CREDS, verifyToken } from './helpers.js';

const NO_ENV = {};
const EAST1 = 'aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-1.on.aws';
const EAST2 = 'bbbbbbbbbbbbbbbbbbbbbbbbbb.dsql.us-east-2.on.aws';

/** Polls `condition` every 5 ms; fails naming `what` after 10 s. */
async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function configError(fn: () => unknown): DsqlConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DsqlConfigError);
    return err as DsqlConfigError;
  }
  throw new Error('expected a DsqlConfigError');
}

const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('the endpoints option', () => {
  it('resolves each endpoint on its own: host, Region, TLS identity, token and rate limiter', async () => {
    const session = createDsqlSession({ endpoints: [EAST1, { host: EAST2, hostaddr: '10.1.0.7' }], user: 'app', credentials: CREDS }, undefined, NO_ENV);
    expect(session.endpoints.map((e) => [e.config.host, e.config.region, e.ref.index])).toEqual([
      [EAST1, 'us-east-1', 0],
      [EAST2, 'us-east-2', 1],
    ]);
    const [one, two] = session.endpoints as [DsqlEndpointSession, DsqlEndpointSession];
    // The session's own fields describe the preferred endpoint, as with one host.
    expect(session.config).toBe(one.config);
    expect(session.tokens).toBe(one.tokens);
    expect(two.dial).toEqual({ host: EAST2, port: 5432, hostaddr: '10.1.0.7', address: '10.1.0.7', servername: EAST2 });
    expect(two.tls).toMatchObject({ servername: EAST2, rejectUnauthorized: true });
    expect(one.tokens).not.toBe(two.tokens);
    const [t1, t2] = [await verifyToken(await one.tokens.getToken(), CREDS), await verifyToken(await two.tokens.getToken(), CREDS)];
    expect([t1.host, t1.region, t1.action]).toEqual([EAST1, 'us-east-1', 'DbConnect']);
    expect([t2.host, t2.region, t2.action]).toEqual([EAST2, 'us-east-2', 'DbConnect']);
    expect(one.limiter).toBeInstanceOf(ConnectRateLimiter);
    expect(one.limiter).not.toBe(two.limiter);
  });

  it('accepts a local endpoint\'s connectionOptions() as an entry, and a shared region for custom hosts', () => {
    const local = (port: number, region: string) => ({
      host: `cccccccccccccccccccccccccc.dsql.${region}.on.aws`, hostaddr: '127.0.0.1', port, region, user: 'admin', database: 'postgres', credentials: CREDS, ssl: { ca: 'PEM' },
    });
    const session = createDsqlSession({ endpoints: [local(7001, 'us-east-1'), local(7002, 'us-east-2')] }, undefined, NO_ENV);
    expect(session.endpoints.map((e) => [e.dial.address, e.dial.port, e.config.region])).toEqual([
      ['127.0.0.1', 7001, 'us-east-1'],
      ['127.0.0.1', 7002, 'us-east-2'],
    ]);
    expect(session.endpoints[1]!.tls).toMatchObject({ ca: 'PEM', servername: 'cccccccccccccccccccccccccc.dsql.us-east-2.on.aws' });
    const custom = createDsqlSession({ endpoints: ['proxy-a.internal', { host: 'proxy-b.internal', region: 'us-west-2' }], region: 'us-east-1', credentials: CREDS }, undefined, NO_ENV);
    expect(custom.endpoints.map((e) => e.config.region)).toEqual(['us-east-1', 'us-west-2']);
  });

  it('keeps one host exactly as before: one endpoint, nothing routed', () => {
    const session = createDsqlSession({ host: EAST1, credentials: CREDS }, undefined, NO_ENV);
    expect(session.endpoints).toHaveLength(1);
    expect(session.endpoints[0]!.config).toBe(session.config);
    const attempt = session.router.attempt();
    attempt.failed(refused());
    expect(session.router.pick()).toBe(session.endpoints[0]);
    expect(session.router.health()[0]!.healthy).toBe(true);
  });

  it('refuses bad input naming the field, the redacted value and what is accepted', () => {
    const base = { credentials: CREDS };
    let e = configError(() => createDsqlSession({ ...base, endpoints: [] }, undefined, NO_ENV));
    expect(e.field).toBe('endpoints');
    expect(e.message).toMatch(/got an empty array; expected a non-empty array of endpoints/);
    e = configError(() => createDsqlSession({ ...base, endpoints: EAST1 as never }, undefined, NO_ENV));
    expect(e.field).toBe('endpoints');
    e = configError(() => createDsqlSession({ ...base, host: EAST1, endpoints: [EAST2] }, undefined, NO_ENV));
    expect(e.field).toBe('host');
    expect(e.message).toMatch(/either host \(one endpoint\) or endpoints/);
    e = configError(() => createDsqlSession({ ...base, endpoints: [EAST1, { host: EAST2, port: 70000 }] }, undefined, NO_ENV));
    expect(e.field).toBe('endpoints[1].port');
    expect(e.message).toMatch(/got 70000; expected an integer from 1 to 65535/);
    e = configError(() => createDsqlSession({ ...base, endpoints: [EAST1, { host: EAST2, region: 'us-east-1' }] }, undefined, NO_ENV));
    expect(e.field).toBe('endpoints[1].region');
    e = configError(() => createDsqlSession({ ...base, endpoints: [EAST1, { host: EAST2, password: 'hunter2' } as never] }, undefined, NO_ENV));
    expect(e.field).toBe('endpoints[1]');
    expect(e.message).toMatch(/key "password"/);
    expect(e.message).not.toContain('hunter2');
    e = configError(() => createDsqlSession({ ...base, endpoints: [EAST1, 'https://x.example.com'] }, undefined, NO_ENV));
    expect(e.field).toBe('endpoints[1].host');
    e = configError(() => createDsqlSession({ ...base, endpoints: [EAST1, EAST1.toUpperCase()] }, undefined, NO_ENV));
    expect(e.message).toMatch(/it is endpoints\[0\]/);
    e = configError(() => createDsqlSession({ ...base, endpoints: [EAST1, { host: EAST2, user: 'other' }] }, undefined, NO_ENV));
    expect(e.message).toMatch(/same user and database as endpoints\[0\]/);
    e = configError(() => createDsqlSession({ ...base, endpoints: [EAST1, 42 as never] }, undefined, NO_ENV));
    expect(e.field).toBe('endpoints[1]');
    e = configError(() => createDsqlSession({ ...base, endpoints: [EAST1], endpointSelection: 'fastest' as never }, undefined, NO_ENV));
    expect(e.field).toBe('endpointSelection');
    e = configError(() => createDsqlSession({ ...base, host: EAST1, endpointSelection: 'latency' }, undefined, NO_ENV));
    expect(e.field).toBe('endpointSelection');
    e = configError(() => createDsqlSession({ ...base, endpoints: [EAST1], endpointProbe: { baseDelayMs: -1 } }, undefined, NO_ENV));
    expect(e.field).toBe('endpointProbe.baseDelayMs');
    e = configError(() => createDsqlSession({ ...base, endpoints: [EAST1], endpointProbe: { drainAfterFailbackMs: -5 } }, undefined, NO_ENV));
    expect(e.field).toBe('endpointProbe.drainAfterFailbackMs');
    expect(e.message).toMatch(/got -5; expected a number of milliseconds >= 0/);
    e = configError(() => createDsqlSession({ ...base, endpoints: [EAST1], endpointProbe: { drainAfterFailbackMs: '1s' as never } }, undefined, NO_ENV));
    expect(e.field).toBe('endpointProbe.drainAfterFailbackMs');
    expect(createDsqlSession({ ...base, endpoints: [EAST1, EAST2], endpointProbe: { drainAfterFailbackMs: 0 } }, undefined, NO_ENV).endpoints).toHaveLength(2);
    // A secret pasted where a host belongs is redacted.
    const token = `${EAST1}/?Action=DbConnect&X-Amz-Signature=${'a'.repeat(64)}`;
    e = configError(() => createDsqlSession({ ...base, endpoints: [token] }, undefined, NO_ENV));
    expect(e.message).not.toContain('a'.repeat(64));
  });

  it('ignores PGHOST beside endpoints, and takes user and database from a connection string', () => {
    const session = createDsqlSession(`postgres://app@${EAST1}/appdb`, { endpoints: [EAST1, EAST2], credentials: CREDS }, { PGHOST: 'elsewhere.example.com' });
    expect(session.endpoints.map((e) => [e.config.host, e.config.user, e.config.database])).toEqual([
      [EAST1, 'app', 'appdb'],
      [EAST2, 'app', 'appdb'],
    ]);
    expect(inspect(session.endpoints[1]!.config)).not.toContain(CREDS.secretAccessKey);
  });
});

interface Fake extends RoutedEndpoint {
  name: string;
}
const fakes = (...names: string[]): Fake[] => names.map((name, index) => ({ name, ref: { endpoint: `${name}.example`, region: name, port: 5432, index } }));

describe('EndpointRouter', () => {
  const routers: EndpointRouter<Fake>[] = [];
  const router = (endpoints: Fake[], probe: { baseDelayMs: number; maxDelayMs: number; timeoutMs: number; intervalMs?: number; drainAfterFailbackMs?: number } = { baseDelayMs: 20, maxDelayMs: 80, timeoutMs: 200 }, selection: 'ordered' | 'latency' = 'ordered') => {
    // No periodic checks unless a test asks for them.
    const r = new EndpointRouter(endpoints, { probe: { intervalMs: 3_600_000, ...probe }, selection });
    routers.push(r);
    return r;
  };
  afterEach(() => routers.splice(0).forEach((r) => r.close()));

  it('sends new connections to the first healthy endpoint, and back to the preferred one once its probe succeeds', async () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const r = router([a, b]);
    let aUp = false;
    const probed: string[] = [];
    r.useProbe(async (e) => {
      probed.push(e.name);
      if (!aUp) throw refused();
    });
    expect(r.pick()).toBe(a);
    r.attempt().failed(refused());
    expect(r.pick()).toBe(b);
    expect(r.health().map((h) => h.healthy)).toEqual([false, true]);
    await until('two failed probes', () => probed.length >= 2);
    expect(r.pick()).toBe(b);
    aUp = true;
    await until('the preferred endpoint to be restored', () => r.health()[0]!.healthy);
    expect(r.pick()).toBe(a);
    expect(new Set(probed)).toEqual(new Set(['east1']));
  });

  it('publishes unhealthy, failover, healthy and failback events naming the endpoint and the reason', async () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const r = router([a, b]);
    let up = false;
    r.useProbe(async () => {
      if (!up) throw refused();
    });
    const seen: [string, unknown][] = [];
    const listeners = Object.values(DSQL_FAILOVER_CHANNELS).map((name) => {
      const fn = (m: unknown) => seen.push([name, m]);
      subscribe(name, fn);
      return () => unsubscribe(name, fn);
    });
    try {
      r.attempt().failed(refused());
      up = true;
      // Failback is published when the probe restores the endpoint, without waiting for a new connection.
      await until('the failback event', () => seen.some(([n]) => n === 'dsql:endpoint:failback'));
    } finally {
      listeners.forEach((off) => off());
    }
    const names = seen.map(([n]) => n);
    expect(names[0]).toBe('dsql:endpoint:unhealthy');
    expect(names[1]).toBe('dsql:endpoint:failover');
    expect(names.slice(-2)).toEqual(['dsql:endpoint:healthy', 'dsql:endpoint:failback']);
    expect(seen[0]![1]).toMatchObject({ endpoint: 'east1.example', region: 'east1', index: 0, reason: 'econnrefused', failures: 1 });
    const failover = seen[1]![1] as DsqlFailoverMessage;
    expect([failover.from.region, failover.to.region, failover.reason]).toEqual(['east1', 'east2', 'econnrefused']);
    expect(seen.at(-2)![1]).toMatchObject({ region: 'east1', by: 'probe' });
    expect((seen.at(-1)![1] as DsqlFailoverMessage).to.region).toBe('east1');
  });

  it('runs one probe at a time per endpoint, with a growing, jittered, capped backoff, however many attempts fail', async () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const r = router([a, b], { baseDelayMs: 10, maxDelayMs: 40, timeoutMs: 200 });
    const delays: number[] = [];
    const off = (m: unknown) => delays.push((m as { nextProbeMs: number }).nextProbeMs);
    subscribe(DSQL_FAILOVER_CHANNELS.endpointUnhealthy, off);
    let inFlight = 0;
    let maxInFlight = 0;
    let probes = 0;
    r.useProbe(async () => {
      probes++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((res) => setTimeout(res, 2));
      inFlight--;
      throw refused();
    });
    try {
      // A burst of failed attempts (a pool opening many connections at once) opens the breaker once.
      const attempts = Array.from({ length: 50 }, () => r.attempt());
      attempts.forEach((t) => t.failed(refused()));
      expect(delays).toHaveLength(1);
      await until('six probes', () => probes >= 6);
    } finally {
      unsubscribe(DSQL_FAILOVER_CHANNELS.endpointUnhealthy, off);
    }
    expect(maxInFlight).toBe(1);
    // 10, 20, 40, 40…: each within 75–125 % of its step.
    const steps = [10, 20, 40, 40, 40, 40];
    delays.slice(0, 6).forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(steps[i]! * 0.75);
      expect(d).toBeLessThanOrEqual(steps[i]! * 1.25);
    });
  });

  it('abandons a probe that never answers (a blackholed endpoint) after timeoutMs, and probes again', async () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const r = router([a, b], { baseDelayMs: 10, maxDelayMs: 20, timeoutMs: 30 });
    let probes = 0;
    const signals: AbortSignal[] = [];
    r.useProbe((_e, signal) => {
      probes++;
      signals.push(signal);
      return new Promise<void>(() => {}); // never settles
    });
    r.attempt().failed(Object.assign(new Error('timeout expired'), { code: 'ETIMEDOUT' }));
    await until('a second probe', () => probes >= 2);
    expect(signals[0]!.aborted).toBe(true);
    expect(r.health()[0]!.healthy).toBe(false);
  });

  it('does not count failures that say nothing about the endpoint', () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const r = router([a, b]);
    const denied = Object.assign(new Error('unable to accept connection, access denied'), { code: '08006', severity: 'FATAL' });
    const rate = Object.assign(new Error('Unable to accept connection, rate exceeded.'), { code: '53400' });
    expect(isEndpointFailure(denied)).toBe(false);
    expect(isEndpointFailure(rate)).toBe(false);
    expect(isEndpointFailure(refused())).toBe(true);
    expect(isEndpointFailure(Object.assign(new Error('server unavailable'), { code: 'XX000' }))).toBe(true);
    r.attempt().failed(denied);
    r.attempt().failed(rate);
    expect(r.pick()).toBe(a);
  });

  it('ignores a success of an attempt that started before the endpoint went down', () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const r = router([a, b], { baseDelayMs: 60_000, maxDelayMs: 60_000, timeoutMs: 1000 });
    const early = r.attempt();
    r.attempt().failed(refused());
    early.succeeded();
    expect(r.pick()).toBe(b);
    expect(r.health()[0]!.healthy).toBe(false);
  });

  it('with every endpoint down, keeps trying the one with the fewest failures', async () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const r = router([a, b], { baseDelayMs: 10, maxDelayMs: 10_000, timeoutMs: 100 });
    let probes = 0;
    r.useProbe(async () => {
      probes++;
      throw refused();
    });
    r.attempt().failed(refused());
    await until('a failed probe of east1', () => r.health()[0]!.failures >= 2);
    r.attempt().failed(refused()); // east2 fails too: east1 has failed more often
    expect(r.pick()).toBe(b);
    expect(probes).toBeGreaterThan(0);
  });

  it('without a probe, half-opens after the delay so the next connection tries the endpoint', async () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const r = router([a, b], { baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 100 });
    r.attempt().failed(refused());
    expect(r.pick()).toBe(b);
    await until('the breaker to half-open', () => r.health()[0]!.healthy);
    expect(r.pick()).toBe(a);
  });

  it("'latency' prefers the healthy endpoint with the lowest measured connect time", async () => {
    const [a, b] = fakes('far', 'near') as [Fake, Fake];
    const r = router([a, b], undefined, 'latency');
    const slow = r.attempt();
    expect(slow.endpoint).toBe(a); // unmeasured endpoints are tried first, in order
    await new Promise((res) => setTimeout(res, 30));
    slow.succeeded();
    const fast = r.attempt();
    expect(fast.endpoint).toBe(b);
    fast.succeeded();
    expect(r.pick()).toBe(b);
    r.attempt().failed(refused());
    expect(r.pick()).toBe(a);
  });

  it('checks healthy endpoints periodically: one that stops answering is marked unhealthy and its connections drained', async () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const r = router([a, b], { baseDelayMs: 10_000, maxDelayMs: 10_000, timeoutMs: 30, intervalMs: 20 });
    const drained: [string, boolean][] = [];
    r.onUnhealthy((e, drain) => drained.push([e.name, drain]));
    let blackholed = false;
    const checked = new Set<string>();
    r.useProbe((e) => {
      checked.add(e.name);
      return e === a && blackholed ? new Promise<void>(() => {}) : Promise.resolve();
    });
    await until('both endpoints checked while healthy', () => checked.size === 2);
    expect(r.health().map((h) => h.healthy)).toEqual([true, true]);
    blackholed = true;
    await until('east1 marked unhealthy by its health check', () => !r.health()[0]!.healthy);
    expect(drained).toEqual([['east1', true]]);
    expect(r.pick()).toBe(b);
  });

  it('bounds a connection attempt only while another endpoint is healthy to fall back to', () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    expect(router([a], { baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 1234 }).attemptTimeoutMs()).toBeUndefined();
    // No probe fires during this test: every state change below is this test's own.
    const r = router([a, b], { baseDelayMs: 60_000, maxDelayMs: 60_000, timeoutMs: 1234 });
    expect(r.attemptTimeoutMs()).toBe(1234);
    expect(r.attemptTimeoutMs(b)).toBe(1234);
    r.attempt().failed(refused()); // east1 down: east2 is the last healthy endpoint
    const last = r.attempt();
    expect(last.endpoint).toBe(b);
    expect(r.attemptTimeoutMs(last.endpoint)).toBeUndefined();
    expect(r.attemptTimeoutMs()).toBeUndefined(); // default: where new connections go now
    expect(r.attemptTimeoutMs(a)).toBe(1234); // an attempt on east1 could still fall back to east2
    last.failed(refused()); // every endpoint down
    const any = r.attempt();
    expect(r.attemptTimeoutMs(any.endpoint)).toBeUndefined();
  });

  describe('an attempt slower than timeoutMs (manual clock)', () => {
    // A handshake that takes 300 ms against a 200 ms attempt bound (a starved machine, a slow
    // network). `attemptOnce` is what an adapter does per attempt: ask the router where and
    // how long, then connect, cut short at the bound if there is one, and report the outcome.
    const HANDSHAKE_MS = 300;
    const BOUND_MS = 200;
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
    afterEach(() => jest.useRealTimers());

    const attemptOnce = (r: EndpointRouter<Fake>): Promise<{ endpoint: Fake; connected: boolean }> => {
      const routed = r.attempt();
      const boundMs = r.attemptTimeoutMs(routed.endpoint);
      return new Promise((resolve) => {
        const bound = boundMs === undefined ? undefined : setTimeout(() => {
          routed.failed(Object.assign(new Error(`timed out after ${boundMs} ms`), { code: 'ETIMEDOUT' }));
          resolve({ endpoint: routed.endpoint, connected: false });
        }, boundMs);
        setTimeout(() => {
          if (bound !== undefined) clearTimeout(bound);
          routed.succeeded();
          resolve({ endpoint: routed.endpoint, connected: true });
        }, HANDSHAKE_MS);
      });
    };
    const run = async (r: EndpointRouter<Fake>) => {
      const outcome = attemptOnce(r);
      await jest.advanceTimersByTimeAsync(HANDSHAKE_MS);
      return outcome;
    };
    const probe = { baseDelayMs: 60_000, maxDelayMs: 60_000, timeoutMs: BOUND_MS };

    it('is cut short while another endpoint is healthy (the next attempt goes there)', async () => {
      const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
      const r = router([a, b], probe);
      expect(await run(r)).toEqual({ endpoint: a, connected: false });
      expect(r.health().map((h) => h.healthy)).toEqual([false, true]);
      expect(r.pick()).toBe(b);
    });

    it('connects on the last healthy endpoint (the other is down)', async () => {
      const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
      const r = router([a, b], probe);
      r.attempt().failed(refused());
      expect(await run(r)).toEqual({ endpoint: b, connected: true });
      expect(r.health().map((h) => h.healthy)).toEqual([false, true]);
    });

    it('connects with every endpoint down, and that success restores its endpoint', async () => {
      const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
      const r = router([a, b], probe);
      r.attempt().failed(refused());
      r.attempt().failed(refused());
      expect(r.health().map((h) => h.healthy)).toEqual([false, false]);
      await jest.advanceTimersByTimeAsync(1); // the attempt starts after both went down
      expect(await run(r)).toEqual({ endpoint: a, connected: true });
      expect(r.health().map((h) => h.healthy)).toEqual([true, false]);
    });
  });

  it('does not drain an endpoint that only refused for too many connections', () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const r = router([a, b], { baseDelayMs: 60_000, maxDelayMs: 60_000, timeoutMs: 100 });
    const drained: boolean[] = [];
    r.onUnhealthy((_e, drain) => drained.push(drain));
    r.attempt().failed(Object.assign(new Error('Unable to accept connection, too many open connections.'), { code: '53300' }));
    expect(r.pick()).toBe(b);
    expect(drained).toEqual([false]);
  });

  it('with drainAfterFailbackMs, tells the adapter to close the other endpoints\' connections that long after failback (never without it)', async () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const drains: string[] = [];
    const r = router([a, b], { baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 1000, drainAfterFailbackMs: 20 });
    r.onFailback((preferred) => drains.push(preferred.name));
    const without = router([a, b], { baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 1000 });
    without.onFailback((preferred) => drains.push(`without:${preferred.name}`));
    expect([r.drainsAfterFailback, without.drainsAfterFailback, router([a], { baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 1000, drainAfterFailbackMs: 20 }).drainsAfterFailback]).toEqual([true, false, false]);
    for (const x of [r, without]) {
      x.useProbe(async () => {});
      x.attempt().failed(refused());
      expect(x.pick()).toBe(b);
    }
    expect(drains).toEqual([]);
    await until('the failback drain', () => drains.length > 0);
    expect(drains).toEqual(['east1']);
    await until('the router without the option to fail back too', () => without.pick() === a);
    expect(drains).toEqual(['east1']); // it was never told to drain
  });

  it('stops probing when closed', async () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    const r = router([a, b], { baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 100 });
    let probes = 0;
    r.useProbe(async () => {
      probes++;
      throw refused();
    });
    r.attempt().failed(refused());
    r.close();
    await new Promise((res) => setTimeout(res, 60));
    expect(probes).toBe(0);
  });
});
