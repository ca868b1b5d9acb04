// The bound on how long a statement may go unanswered once its endpoint is suspected
// (endpointProbe.suspectAfterMs): the router's suspicion logic on a manual clock, with fake
// endpoints and a probe the test controls (the adapters' real probes are exercised by the pg and
// Postgres.js failover integration tests).
import { jest } from '@jest/globals';
import { DsqlConfigError, createDsqlSession } from '../src/index.js';
import { EndpointRouter, type RoutedEndpoint } from '../src/failover/endpoint-router.js';
import { CREDS } from './helpers.js';

interface Fake extends RoutedEndpoint {
  name: string;
}
const fakes = (...names: string[]): Fake[] => names.map((name, index) => ({ name, ref: { endpoint: `${name}.example`, region: name, port: 5432, index } }));

const SUSPECT_MS = 5000;
const TIMEOUT_MS = 2000;
const INTERVAL_MS = 40_000;

describe('a statement unanswered for suspectAfterMs (manual clock)', () => {
  const routers: EndpointRouter<Fake>[] = [];
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
  afterEach(() => {
    routers.splice(0).forEach((r) => r.close());
    jest.useRealTimers();
  });

  /** A two-endpoint router whose probe of east1 hangs (a blackhole) while `east1.silent`, else answers; probes are counted. */
  const setup = (suspectAfterMs: number | 'unset' = SUSPECT_MS, names: string[] = ['east1', 'east2']) => {
    const endpoints = fakes(...names);
    const probe = { baseDelayMs: 60_000, maxDelayMs: 60_000, timeoutMs: TIMEOUT_MS, intervalMs: INTERVAL_MS, ...(suspectAfterMs === 'unset' ? {} : { suspectAfterMs }) };
    // random 0.5: the periodic check comes exactly every intervalMs.
    const r = new EndpointRouter(endpoints, { probe, random: () => 0.5 });
    routers.push(r);
    const east1 = { silent: false, probes: 0, probedAt: [] as number[] };
    const drained: string[] = [];
    r.onUnhealthy((e, drain) => drain && drained.push(e.name));
    r.useProbe((e) => {
      if (e !== endpoints[0]) return Promise.resolve();
      east1.probes++;
      east1.probedAt.push(performance.now());
      return east1.silent ? new Promise<void>(() => {}) : Promise.resolve();
    });
    return { r, a: endpoints[0]!, b: endpoints[1], east1, drained };
  };

  it('checks the endpoint at once and marks it unhealthy when the check goes unanswered: within suspectAfterMs + timeoutMs', async () => {
    const { r, a, east1, drained } = setup();
    const watch = r.watchStatements(a)!;
    east1.silent = true;
    watch.started();
    await jest.advanceTimersByTimeAsync(SUSPECT_MS - 1);
    expect(east1.probes).toBe(0); // not yet overdue
    await jest.advanceTimersByTimeAsync(1);
    expect(east1.probes).toBe(1); // suspected: probed out of schedule (the periodic check is 30 s away)
    expect(r.health()[0]!.healthy).toBe(true);
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(r.health()[0]!.healthy).toBe(false);
    expect(drained).toEqual(['east1']); // the adapter fails the busy connections
    expect(r.pick().name).toBe('east2');
  });

  it('leaves a slow statement on a healthy endpoint alone, probing again after a quiet period that doubles up to intervalMs', async () => {
    const { r, a, east1, drained } = setup();
    const watch = r.watchStatements(a)!;
    watch.started(); // a long query; the endpoint answers its probes
    const t0 = performance.now();
    await jest.advanceTimersByTimeAsync(150_000);
    expect(drained).toEqual([]);
    expect(r.health()[0]!.healthy).toBe(true);
    const gaps = east1.probedAt.map((t, i) => t - (i === 0 ? t0 : east1.probedAt[i - 1]!));
    // 5 s, then 10 and 20; then at most intervalMs apart (the quiet period's cap; the periodic check at 40 s, 80 s… answers too).
    expect(gaps.slice(0, 3)).toEqual([SUSPECT_MS, 2 * SUSPECT_MS, 4 * SUSPECT_MS]);
    expect(gaps.every((g) => g <= INTERVAL_MS)).toBe(true);
    expect(east1.probes).toBeLessThanOrEqual(8);
    watch.answered();
    const after = east1.probes;
    await jest.advanceTimersByTimeAsync(SUSPECT_MS * 2);
    expect(east1.probes - after).toBeLessThanOrEqual(1); // only the periodic check may run
  });

  it('judges the next statement afresh once nothing is outstanding (the quiet period resets)', async () => {
    const { r, a, east1 } = setup();
    const watch = r.watchStatements(a)!;
    watch.started();
    await jest.advanceTimersByTimeAsync(SUSPECT_MS * 3 + 10); // probes at 5 s and 15 s: quiet now 20 s
    expect(east1.probes).toBe(2);
    watch.answered();
    await jest.advanceTimersByTimeAsync(25_000); // the timer fires, finds nothing outstanding
    const before = east1.probes;
    east1.silent = true;
    watch.started();
    await jest.advanceTimersByTimeAsync(SUSPECT_MS + TIMEOUT_MS);
    expect(east1.probes).toBeGreaterThan(before);
    expect(r.health()[0]!.healthy).toBe(false);
  });

  it('runs one probe per endpoint however many connections wait, and an answer on a connection counts as progress', async () => {
    const { r, a, east1 } = setup();
    east1.silent = true;
    const watches = Array.from({ length: 20 }, () => r.watchStatements(a)!);
    for (const w of watches) w.started();
    await jest.advanceTimersByTimeAsync(SUSPECT_MS + TIMEOUT_MS / 2);
    expect(east1.probes).toBe(1);
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(r.health()[0]!.healthy).toBe(false);

    // Another router: a connection whose queued statements keep being answered is never suspected.
    const other = setup();
    other.east1.silent = true;
    const w = other.r.watchStatements(other.a)!;
    for (let i = 0; i < 10; i++) w.started();
    for (let i = 0; i < 9; i++) {
      await jest.advanceTimersByTimeAsync(SUSPECT_MS - 1000);
      w.answered();
    }
    expect(other.east1.probes).toBe(0);
  });

  it('keeps no timer while nothing is outstanding, and forgets a closed connection', async () => {
    const { r, a, east1 } = setup();
    const watch = r.watchStatements(a)!;
    const idle = jest.getTimerCount(); // the periodic checks
    for (let i = 0; i < 100; i++) {
      watch.started();
      watch.answered();
    }
    watch.answered(); // reported twice: ignored
    await jest.advanceTimersByTimeAsync(SUSPECT_MS + 1); // the one timer armed by the first statement fires and is not re-armed
    expect(jest.getTimerCount()).toBe(idle);
    expect(east1.probes).toBe(0);
    watch.started();
    watch.close(); // the connection closed mid-statement (the adapter saw it end)
    await jest.advanceTimersByTimeAsync(SUSPECT_MS * 2);
    expect(east1.probes).toBe(0);
    expect(jest.getTimerCount()).toBe(idle);
  });

  it('follows nothing with one endpoint, with suspectAfterMs 0, or once closed', () => {
    expect(setup(SUSPECT_MS, ['only']).r.watchStatements(fakes('only')[0]!)).toBeUndefined();
    const off = setup(0);
    expect(off.r.watchStatements(off.a)).toBeUndefined();
    const unset = setup('unset');
    expect(unset.r.watchStatements(unset.a)).toBeUndefined();
    const closed = setup();
    closed.r.close();
    expect(closed.r.watchStatements(closed.a)).toBeUndefined();
  });

  it('waits for a check already in flight, but one that started before the statement does not clear it: the endpoint is checked again at once', async () => {
    const [a, b] = fakes('east1', 'east2') as [Fake, Fake];
    // random 0.5: the periodic check of each endpoint at exactly 40 s; checks may take up to 10 s.
    const r = new EndpointRouter([a, b], { probe: { baseDelayMs: 60_000, maxDelayMs: 60_000, timeoutMs: 10_000, intervalMs: INTERVAL_MS, suspectAfterMs: SUSPECT_MS }, random: () => 0.5 });
    routers.push(r);
    const probedAt: number[] = [];
    r.useProbe((e) => {
      if (e !== a) return Promise.resolve();
      probedAt.push(performance.now());
      // The periodic check answers after 8 s; later ones never (the Region went silent meanwhile).
      return probedAt.length === 1 ? new Promise<void>((resolve) => setTimeout(resolve, 8000)) : new Promise<void>(() => {});
    });
    const t0 = performance.now();
    await jest.advanceTimersByTimeAsync(INTERVAL_MS + 1000); // the periodic check of east1 runs since 40 s
    expect(probedAt.map((t) => t - t0)).toEqual([INTERVAL_MS]);
    r.watchStatements(a)!.started(); // at 41 s
    await jest.advanceTimersByTimeAsync(SUSPECT_MS); // 46 s: suspected; the check in flight will answer
    expect(probedAt).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(2000); // 48 s: it answered, but it started before the statement
    expect(probedAt.map((t) => t - t0)).toEqual([INTERVAL_MS, INTERVAL_MS + 8000]);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(r.health()[0]!.healthy).toBe(false);
  });

  it('is raised again after its check ended with the endpoint marked down meanwhile by a connection, then restored', async () => {
    const { r, a, east1 } = setup();
    const watch = r.watchStatements(a)!;
    east1.silent = true;
    watch.started();
    await jest.advanceTimersByTimeAsync(SUSPECT_MS + 500); // suspected: the check runs (and hangs)
    expect(east1.probes).toBe(1);
    r.reportFailure(a, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })); // a connection attempt failed meanwhile
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS); // the suspicion's check times out on an endpoint already down
    east1.silent = false;
    // Its recovery probe (on the 60 s backoff) answers.
    for (let s = 0; s < 120 && !r.health()[0]!.healthy; s++) await jest.advanceTimersByTimeAsync(1000);
    expect(r.health()[0]!.healthy).toBe(true);
    const before = east1.probes;
    east1.silent = true;
    // The statement still waits (its connection was not closed, as for a refusal of too many connections): suspected again.
    await jest.advanceTimersByTimeAsync(SUSPECT_MS + TIMEOUT_MS);
    expect(east1.probes).toBeGreaterThan(before);
    expect(r.health()[0]!.healthy).toBe(false);
  });

  it('does not probe an endpoint already unhealthy out of schedule (its recovery probe is on its backoff)', async () => {
    const { r, a, east1 } = setup();
    const watch = r.watchStatements(a)!;
    watch.started();
    r.reportFailure(a, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    await jest.advanceTimersByTimeAsync(SUSPECT_MS * 3);
    expect(east1.probes).toBe(0);
  });
});

describe('endpointProbe.suspectAfterMs', () => {
  const base = { credentials: CREDS, region: 'us-east-1' };
  const EAST1 = 'aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-1.on.aws';
  const EAST2 = 'bbbbbbbbbbbbbbbbbbbbbbbbbb.dsql.us-east-2.on.aws';
  const probeOf = (endpointProbe?: object) => {
    const session = createDsqlSession({ ...base, endpoints: [EAST1, EAST2], ...(endpointProbe ? { endpointProbe } : {}) }, undefined, {});
    const watch = session.router.watchStatements(session.endpoints[0]!);
    session.router.close();
    return watch;
  };

  it('defaults to 5 s (on), and 0 or false turn it off', () => {
    expect(probeOf()).toBeDefined();
    expect(probeOf({ suspectAfterMs: 1500 })).toBeDefined();
    expect(probeOf({ suspectAfterMs: 0 })).toBeUndefined();
    expect(probeOf({ suspectAfterMs: false })).toBeUndefined();
  });

  it('refuses anything else, naming the field, the value and what is accepted', () => {
    for (const bad of [-1, '5s', Number.NaN, true]) {
      let err: unknown;
      try {
        probeOf({ suspectAfterMs: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DsqlConfigError);
      expect((err as DsqlConfigError).field).toBe('endpointProbe.suspectAfterMs');
      expect((err as Error).message).toMatch(/>= 0, or false/);
    }
  });
});
