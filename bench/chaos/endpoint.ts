/**
 * A restartable local DSQL endpoint: one embedded PostgreSQL (owned by a first `startDsqlLocal()`
 * whose own port nobody dials) and a proxy in front of it that can be stopped and started again
 * on the same port with the same cluster name, certificate and credentials — so clients see an
 * endpoint that goes away (every session cut, connections refused) and comes back.
 */
import { startDsqlLocal, type DsqlLocal, type DsqlLocalOptions, type DsqlLocalStats, type Fault } from '@dsql/local';
// The emulator's own certificate generator (test-only import from source): a restarted proxy
// must present a certificate the clients' pinned CA still verifies.
import { generateTlsMaterial } from '@dsql/local/accept/certs';

/** `startDsqlLocal()` options a restartable endpoint passes on (the rest it fixes). */
export type EndpointOptions = Omit<DsqlLocalOptions, 'upstream' | 'port' | 'tls' | 'clusterId' | 'credentials'>;

export interface RestartableEndpoint {
  readonly host: string;
  readonly hostaddr: string;
  readonly port: number;
  readonly region: string;
  readonly ca: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Upstream PostgreSQL URL, for fixtures and after-the-fact checks that bypass the proxy. */
  readonly upstreamUrl: string;
  inject(fault: Fault): void;
  /**
   * Stops the proxy (cutting every session), waits `downMs`, starts it again on the same port
   * (with `options` merged over the ones it had, if given).
   */
  restart(downMs: number, options?: EndpointOptions): Promise<void>;
  /** Counters summed over every proxy instance so far. */
  stats(): DsqlLocalStats;
  restarts(): number;
  stop(): Promise<void>;
}

function add(a: DsqlLocalStats, b: DsqlLocalStats): DsqlLocalStats {
  const out = structuredClone(a) as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(b)) {
    if (typeof v === 'number') out[k] = ((out[k] as number | undefined) ?? 0) + v;
    else if (v && typeof v === 'object') {
      const o = ((out[k] as Record<string, number> | undefined) ?? {}) as Record<string, number>;
      for (const [kk, vv] of Object.entries(v as Record<string, number>)) o[kk] = (o[kk] ?? 0) + vv;
      out[k] = o;
    }
  }
  return out as unknown as DsqlLocalStats;
}

/**
 * @example
 * const endpoint = await startRestartableEndpoint({ maxConnectionAgeSeconds: 4 });
 * await endpoint.restart(200);
 * await endpoint.stop();
 */
export async function startRestartableEndpoint(initial: EndpointOptions = {}): Promise<RestartableEndpoint> {
  let options = initial;
  const owner = await startDsqlLocal({ connectRate: false });
  let proxy: DsqlLocal | undefined;
  try {
    const clusterId = owner.clusterId;
    const host = owner.host;
    const tls = await generateTlsMaterial([host, 'localhost', '127.0.0.1']);
    const start = (port: number) => startDsqlLocal({ ...options, upstream: owner.upstreamUrl, port, clusterId, credentials: owner.credentials, tls });
    proxy = await start(0);
    const port = proxy.port;
    const zero = (x: unknown): unknown =>
      typeof x === 'number' ? 0 : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, zero(v)])) : x;
    let done = zero(proxy.stats()) as DsqlLocalStats; // counters of the instances already stopped
    let restarts = 0;
    let current: DsqlLocal | undefined = proxy;
    return {
      host,
      hostaddr: '127.0.0.1',
      port,
      region: owner.region,
      ca: tls.ca,
      credentials: { accessKeyId: owner.credentials.accessKeyId, secretAccessKey: owner.credentials.secretAccessKey },
      upstreamUrl: owner.upstreamUrl,
      inject: (fault) => current?.inject(fault),
      restart: async (downMs, changed) => {
        if (changed) options = { ...options, ...changed };
        const old = current!;
        current = undefined;
        const last = old.stats();
        await old.stop();
        done = add(done, last);
        restarts++;
        await new Promise((r) => setTimeout(r, downMs));
        current = await start(port);
      },
      stats: () => (current ? add(done, current.stats()) : done),
      restarts: () => restarts,
      stop: async () => {
        await current?.stop();
        await owner.stop();
      },
    };
  } catch (err) {
    await proxy?.stop();
    await owner.stop();
    throw err;
  }
}
