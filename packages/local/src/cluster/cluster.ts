/**
 * `startDsqlLocalCluster()`: a local multi-Region cluster — one Regional endpoint per Region,
 * each an ordinary `DsqlLocal` (own cluster id, host, port, quotas, token scope), all over one
 * PostgreSQL and one OCC arbiter (../upstream/shared-upstream.ts), so a commit through one
 * Region is visible in the other and conflicts between Regions are decided as in one cluster.
 * Each endpoint sits behind a network link (link.ts) that a test can make slow, reset or
 * blackholed, and can be told to refuse service: what failover logic must survive.
 */
import { generateTlsMaterial } from '../accept/certs.js';
import { SERVER_UNAVAILABLE } from '../admission/admit.js';
import { resolveOptions, type DsqlLocalOptions } from '../options.js';
import { endpointHost, startEndpoint, type DsqlLocal, type StartedEndpoint } from '../server.js';
import type { DsqlLocalStats } from '../stats.js';
import { startSharedUpstream } from '../upstream/shared-upstream.js';

/**
 * How a Region is cut off by `isolate()`:
 * - `'refuse'`: the endpoint answers every new connection with DSQL's unavailable error
 *   (FATAL `XX000 server unavailable`) and closes open ones with it;
 * - `'drop'`: every open connection is reset (TCP RST), and each new one as it arrives;
 * - `'blackhole'`: connections are accepted but nothing is answered, open ones included — the
 *   failure only a timeout detects.
 *
 * @example
 * cluster.isolate('us-east-1', { mode: 'blackhole' });
 */
export type IsolationMode = 'refuse' | 'drop' | 'blackhole';

/**
 * Options of `startDsqlLocalCluster`: the Regions, and any `startDsqlLocal` option, applied to
 * every endpoint (quotas are per endpoint, as on DSQL). One upstream serves them all.
 *
 * @example
 * await startDsqlLocalCluster({ regions: ['us-east-1', 'us-east-2'], connectRate: { perSecond: 10, burst: 10 } });
 */
export interface DsqlLocalClusterOptions extends Omit<DsqlLocalOptions, 'region' | 'clusterId' | 'port'> {
  /** The Regions with an endpoint, at least two, all different (e.g. `['us-east-1', 'us-east-2']`). */
  regions: readonly string[];
}

/**
 * Counters of one Regional endpoint: its `DsqlLocalStats`, and what its network is doing.
 *
 * @example
 * expect(cluster.stats()['us-east-2'].authFailures).toEqual({});
 */
export interface DsqlLocalRegionStats extends DsqlLocalStats {
  /** The mode the Region is isolated in, or `null`. */
  isolation: IsolationMode | null;
  /** Delay added to every round trip (ms). */
  latencyMs: number;
  /** Connections reset by `'drop'` so far. */
  connectionsReset: number;
  /** Connections held unanswered by `'blackhole'` right now. */
  connectionsHeld: number;
}

/**
 * A running local multi-Region cluster.
 *
 * @example
 * const cluster = await startDsqlLocalCluster({ regions: ['us-east-1', 'us-east-2'] });
 * const pool = new DsqlPool({ endpoints: cluster.endpoints.map((e) => e.connectionOptions()) });
 * cluster.isolate('us-east-1', { mode: 'drop' });
 * cluster.heal('us-east-1');
 * await cluster.stop();
 */
export interface DsqlLocalCluster {
  /** One endpoint per Region, in the order of `regions`. */
  readonly endpoints: readonly DsqlLocal[];
  /** The endpoint of `region`; throws for a Region the cluster does not have. */
  endpoint(region: string): DsqlLocal;
  /** Cuts `region` off in `mode` (replacing any isolation it was in) until `heal(region)`. */
  isolate(region: string, options: { mode: IsolationMode }): void;
  /**
   * Ends the isolation of `region`: new connections are served again; connections a blackhole
   * held get their answers now (as when a partition heals).
   */
  heal(region: string): void;
  /** Adds `ms` to every round trip to `region`'s endpoint (0 removes it); open connections too. */
  setLatency(region: string, ms: number): void;
  /** A snapshot of every endpoint's counters, by Region. */
  stats(): Record<string, DsqlLocalRegionStats>;
  /**
   * Stops every endpoint, then the shared PostgreSQL (see `DsqlLocal.stop`). Idempotent; always
   * finishes, and rejects afterwards if something failed to stop cleanly.
   */
  stop(): Promise<void>;
}

interface Region {
  started: StartedEndpoint;
  isolation: IsolationMode | null;
}

/**
 * Starts a local multi-Region cluster: one endpoint per Region over one PostgreSQL.
 *
 * @example
 * import { startDsqlLocalCluster } from '@dsql/local';
 *
 * const cluster = await startDsqlLocalCluster({ regions: ['us-east-1', 'us-east-2'] });
 * const [east1, east2] = cluster.endpoints;
 * // A row committed through east1 is read through east2; a token for east1's host is refused by east2.
 * cluster.isolate('us-east-1', { mode: 'refuse' });
 * cluster.setLatency('us-east-2', 20);
 * await cluster.stop();
 */
export async function startDsqlLocalCluster(options: DsqlLocalClusterOptions): Promise<DsqlLocalCluster> {
  const { regions, ...shared } = options ?? ({} as DsqlLocalClusterOptions);
  if (!Array.isArray(regions) || regions.length < 2 || new Set(regions).size !== regions.length) {
    throw new TypeError(`startDsqlLocalCluster: 'regions' must list at least two different Regions, e.g. ['us-east-1', 'us-east-2'] (got ${JSON.stringify(regions)})`);
  }
  for (const key of ['region', 'clusterId', 'port'] as const) {
    if ((options as unknown as Record<string, unknown>)[key] !== undefined) {
      throw new TypeError(`startDsqlLocalCluster: '${key}' is chosen per endpoint and cannot be given (use 'regions')`);
    }
  }
  // Validated as startDsqlLocal would; one identity (an AWS account) for every Region.
  const first = resolveOptions({ ...shared, region: regions[0] });
  const resolved = regions.map((region, i) => (i === 0 ? first : resolveOptions({ ...shared, credentials: first.credentials, region })));
  const material = first.tls ?? (await generateTlsMaterial([...resolved.map(endpointHost), 'localhost', '127.0.0.1']));
  const upstream = await startSharedUpstream({
    upstream: first.upstream,
    sessions: resolved.reduce((n, o) => n + o.maxConnections, 0),
    rules: first.rules,
  });
  const byRegion = new Map<string, Region>();
  try {
    for (const o of resolved) {
      byRegion.set(o.region, { started: await startEndpoint(o, upstream, { material, ownsUpstream: false, link: true }), isolation: null });
    }
  } catch (err) {
    await Promise.allSettled([...byRegion.values()].map((r) => r.started.local.stop()));
    await upstream.stop();
    throw err;
  }

  const regionOf = (name: string, region: string): Region => {
    const r = byRegion.get(region);
    if (!r) throw new TypeError(`${name}: unknown Region ${JSON.stringify(region)}; this cluster has ${regions.map((x) => `'${x}'`).join(', ')}`);
    return r;
  };
  const heal = (r: Region): void => {
    r.isolation = null;
    r.started.ctx.unavailable = undefined;
    r.started.link!.setCondition('pass');
  };
  let stopping: Promise<void> | undefined;
  return {
    endpoints: [...byRegion.values()].map((r) => r.started.local),
    endpoint: (region) => regionOf('endpoint', region).started.local,
    isolate: (region, isolateOptions) => {
      const r = regionOf('isolate', region);
      const mode = isolateOptions?.mode;
      if (mode !== 'refuse' && mode !== 'drop' && mode !== 'blackhole') {
        throw new TypeError(`isolate: 'mode' must be 'refuse', 'drop' or 'blackhole' (got ${JSON.stringify(mode)})`);
      }
      r.isolation = mode;
      const { ctx, link } = r.started;
      // Straight from one mode to the next: healing in between would let a blackhole's held
      // answers out before a drop.
      ctx.unavailable = mode === 'refuse' ? SERVER_UNAVAILABLE : undefined;
      if (mode === 'refuse') {
        for (const s of [...ctx.sessions]) {
          ctx.stats.unavailable++;
          if (s.fail) s.fail(SERVER_UNAVAILABLE);
          else s.close();
        }
      }
      link!.setCondition(mode === 'refuse' ? 'pass' : mode);
    },
    heal: (region) => heal(regionOf('heal', region)),
    setLatency: (region, ms) => {
      const r = regionOf('setLatency', region);
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        throw new TypeError(`setLatency: 'ms' must be a non-negative number of milliseconds (got ${JSON.stringify(ms)})`);
      }
      r.started.link!.latencyMs = ms;
    },
    stats: () =>
      Object.fromEntries(
        [...byRegion].map(([region, r]) => {
          const link = r.started.link!.stats();
          return [region, { ...r.started.local.stats(), isolation: r.isolation, latencyMs: r.started.link!.latencyMs, connectionsReset: link.reset, connectionsHeld: link.held }];
        }),
      ),
    stop: () =>
      (stopping ??= (async () => {
        const stopped = await Promise.allSettled([...byRegion.values()].map((r) => r.started.local.stop()));
        await upstream.stop();
        const failed = stopped.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
      })()),
  };
}
